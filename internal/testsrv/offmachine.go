package testsrv

import (
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
)

// Recorder is a loopback HTTP server that answers 404 to everything and
// remembers what it was asked: a stand-in for an endpoint a test must
// never reach.
type Recorder struct {
	URL string
	mu  sync.Mutex
	got []string
}

// NewRecorder starts a Recorder for the test's duration.
func NewRecorder(t testing.TB) *Recorder {
	t.Helper()
	r := &Recorder{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.got = append(r.got, req.Method+" "+req.Host+req.URL.RequestURI())
		r.mu.Unlock()
		http.NotFound(w, req)
	}))
	t.Cleanup(srv.Close)
	r.URL = srv.URL
	return r
}

// Requests returns what the Recorder was asked so far.
func (r *Recorder) Requests() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.got...)
}

// NoAWSCredentials clears every AWS credential source the SDK's default
// chain reads (environment, shared files, profile) and points the EC2
// instance metadata endpoint at a Recorder, which it returns: any request
// it records is one that would have left the machine for
// 169.254.169.254. It uses t.Setenv, so the test cannot be parallel.
func NoAWSCredentials(t testing.TB) *Recorder {
	t.Helper()
	imds := NewRecorder(t)
	none := filepath.Join(t.TempDir(), "none")
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SESSION_TOKEN": "",
		"AWS_PROFILE": "", "AWS_DEFAULT_PROFILE": "", "AWS_CONFIG_FILE": none, "AWS_SHARED_CREDENTIALS_FILE": none,
		"AWS_WEB_IDENTITY_TOKEN_FILE": "", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "", "AWS_CONTAINER_CREDENTIALS_FULL_URI": "",
		"AWS_EC2_METADATA_DISABLED": "", "AWS_EC2_METADATA_SERVICE_ENDPOINT": imds.URL, "AWS_REGION": "us-east-1",
	} {
		t.Setenv(k, v)
	}
	return imds
}
