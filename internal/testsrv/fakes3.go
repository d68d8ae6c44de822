package testsrv

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// FakeS3 is gofakes3 served on loopback and a real S3 client for it.
type FakeS3 struct {
	URL    string
	Client *s3.Client
}

// NewFakeS3 serves backend (s3mem when nil) with gofakes3, versioning off
// and its log discarded, on loopback until the test ends, through wrap
// when it is not nil, and creates the buckets. Its Client signs with
// static credentials, addresses buckets by path and sends checksums only
// when an operation requires them, as the coordinator's clients do; derive
// another with s3.New(f.Client.Options(), ...).
func NewFakeS3(t testing.TB, backend gofakes3.Backend, wrap func(http.Handler) http.Handler, buckets ...string) *FakeS3 {
	t.Helper()
	if backend == nil {
		backend = s3mem.New()
	}
	var h http.Handler = gofakes3.New(backend, gofakes3.WithoutVersioning(), gofakes3.WithLogger(gofakes3.DiscardLog())).Server()
	if wrap != nil {
		h = wrap(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	f := &FakeS3{URL: srv.URL, Client: s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), UsePathStyle: true,
		Credentials:                credentials.NewStaticCredentialsProvider("k", "s", ""),
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired})}
	for _, b := range buckets {
		if _, err := f.Client.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
			t.Fatalf("create bucket %s: %v", b, err)
		}
	}
	return f
}

// SyncBuffer is a bytes.Buffer that one goroutine (a process's output, a
// logger) writes while the test reads it.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String is what was written so far.
func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
