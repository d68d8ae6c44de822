package env

import (
	"context"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// TestRemote_S3Ops_EmbeddedS3CountedOnce: with an embedded S3 (a real
// Redis only) the fake's handler counts, and the clients do not count
// again.
func TestRemote_S3Ops_EmbeddedS3CountedOnce(t *testing.T) {
	ctx := context.Background()
	r, err := NewRemote(ctx, RemoteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	key := "a/b"
	if _, err := r.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: &r.Bucket, Key: &key, Body: strings.NewReader("x")}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.APIS3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &r.Bucket, Key: &key}); err != nil {
		t.Fatal(err)
	}
	// CreateBucket and PutObject are both PUTs.
	if got, want := r.S3Ops(), map[string]int64{"PUT": 2, "HEAD": 1}; !maps.Equal(got, want) {
		t.Errorf("counted %v, want %v", got, want)
	}
}

func TestCountingTransport_RoundTrip(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer other.Close()
	tests := []struct {
		name, endpoint, method, url string
		want                        map[string]int64
	}{
		{"object GET", srv.URL, http.MethodGet, srv.URL + "/bkt/k/1", map[string]int64{"GET": 1}},
		{"bucket GET is a LIST", srv.URL, http.MethodGet, srv.URL + "/bkt?list-type=2", map[string]int64{"LIST": 1}},
		{"part", srv.URL, http.MethodPut, srv.URL + "/bkt/k?partNumber=1&uploadId=x", map[string]int64{"UPLOAD_PART": 1}},
		{"endpoint path trimmed", srv.URL + "/s3/", http.MethodGet, srv.URL + "/s3/bkt", map[string]int64{"LIST": 1}},
		{"another host (the result API)", srv.URL, http.MethodGet, other.URL + "/v1/uploads/x", map[string]int64{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var c opCounter
			hc := countS3Client(&http.Client{}, tc.endpoint, &c)
			req, _ := http.NewRequest(tc.method, tc.url, nil)
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if got := c.snapshot(); !maps.Equal(got, tc.want) {
				t.Errorf("counted %v, want %v", got, tc.want)
			}
		})
	}
}
