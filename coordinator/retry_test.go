package coordinator_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/stormsim/stormsim/coordinator"
	"github.com/stormsim/stormsim/internal/testsrv"
)

// flakyS3 is gofakes3 behind a handler that fails the next n requests with
// status code (S3's XML error body), reading the request body first as a
// server that fails late would.
type flakyS3 struct {
	fail  atomic.Int64
	code  int
	calls atomic.Int64
}

func (f *flakyS3) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.calls.Add(1)
		if f.fail.Add(-1) >= 0 {
			_, _ = io.Copy(io.Discard, r.Body)
			code := "SlowDown"
			if f.code == 500 {
				code = "InternalError"
			}
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(f.code)
			_, _ = io.WriteString(w, "<Error><Code>"+code+"</Code><Message>injected</Message></Error>")
			return
		}
		h.ServeHTTP(w, r)
	})
}

// newFlakyStore returns a RetryStore over an SDK client that does not retry
// by itself (one attempt), so every retry seen is the decorator's.
func newFlakyStore(t *testing.T, code int, p coordinator.RetryPolicy) (*coordinator.RetryStore, *s3.Client, *flakyS3) {
	t.Helper()
	f := &flakyS3{code: code}
	fake := testsrv.NewFakeS3(t, nil, f.wrap, "bkt")
	client := s3.New(fake.Client.Options(), func(o *s3.Options) { o.RetryMaxAttempts = 1 })
	if p.Jitter == nil {
		p.Jitter = func() float64 { return 0.5 }
	}
	return coordinator.NewRetryStore(client, p), client, f
}

func TestRetryStore_PutObject_RetriesTransientErrors(t *testing.T) {
	tests := []struct {
		name      string
		code      int
		fail      int64
		wantErr   bool
		wantCalls int64
	}{
		{"503 SlowDown twice", 503, 2, false, 3},
		{"500 once", 500, 1, false, 2},
		{"503 past the attempts", 503, 10, true, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var retries atomic.Int64
			store, client, f := newFlakyStore(t, tt.code, coordinator.RetryPolicy{Attempts: 4, Base: time.Millisecond,
				OnRetry: func(string, int, error) { retries.Add(1) }})
			f.fail.Store(tt.fail)
			f.calls.Store(0)
			body := bytes.Repeat([]byte("x"), 4096)
			_, err := store.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k"),
				Body: bytes.NewReader(body)})
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if got := f.calls.Load(); got != tt.wantCalls {
				t.Errorf("%d requests, want %d", got, tt.wantCalls)
			}
			if retries.Load() != tt.wantCalls-1 {
				t.Errorf("OnRetry saw %d retries, want %d", retries.Load(), tt.wantCalls-1)
			}
			if tt.wantErr {
				return
			}
			out, err := client.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k")})
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(out.Body)
			out.Body.Close()
			if !bytes.Equal(got, body) {
				t.Errorf("stored %d bytes after the retry, want the whole %d (body not rewound)", len(got), len(body))
			}
		})
	}
}

func TestRetryStore_ClientErrors_NotRetried(t *testing.T) {
	store, _, f := newFlakyStore(t, 503, coordinator.RetryPolicy{Base: time.Millisecond})
	f.calls.Store(0)
	_, err := store.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String("bkt"), Key: aws.String("missing")})
	if err == nil {
		t.Fatal("head of a missing key succeeded")
	}
	if n := f.calls.Load(); n != 1 {
		t.Errorf("404 was tried %d times, want once", n)
	}
}

func TestRetryStore_StreamBody_NotRetried(t *testing.T) {
	store, _, f := newFlakyStore(t, 503, coordinator.RetryPolicy{Base: time.Millisecond})
	f.fail.Store(1)
	f.calls.Store(0)
	// A pipe cannot be rewound: the retry belongs to the event, not the call.
	pr, pw := io.Pipe()
	go func() { _, _ = pw.Write([]byte("stream")); pw.Close() }()
	_, err := store.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String("s"),
		Body: pr, ContentLength: aws.Int64(6)}, s3.WithAPIOptions(v4.SwapComputePayloadSHA256ForUnsignedPayloadMiddleware))
	if err == nil {
		t.Fatal("put succeeded through an injected 503")
	}
	if n := f.calls.Load(); n != 1 {
		t.Errorf("stream body sent %d times, want once", n)
	}
}

func TestRetryStore_ContextCancelled_StopsWaiting(t *testing.T) {
	store, _, f := newFlakyStore(t, 503, coordinator.RetryPolicy{Attempts: 10, Base: time.Hour, Max: time.Hour})
	f.fail.Store(100)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	began := time.Now()
	_, err := store.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k")})
	if err == nil {
		t.Fatal("get succeeded")
	}
	if d := time.Since(began); d > 5*time.Second {
		t.Errorf("returned after %v: the backoff ignored the context", d)
	}
}

func TestRetryable(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"cancelled", context.Canceled, false},
		{"deadline", context.DeadlineExceeded, false},
		{"quota", errors.Join(errors.New("503"), ratelimit.QuotaExceededError{Available: 0, Requested: 5}), true},
		{"unexpected EOF", io.ErrUnexpectedEOF, true},
		{"plain", errors.New("boom"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := coordinator.Retryable(tt.err); got != tt.want {
				t.Errorf("Retryable(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

// The handler behind a RetryStore rides out a burst of SlowDown answers.
func TestHandler_ThroughRetryStore_CommitsDespiteSlowDown(t *testing.T) {
	store, client, f := newFlakyStore(t, 503, coordinator.RetryPolicy{Base: time.Millisecond})
	e := newTestEnv(t, coordinator.StrategyRedisLock, nil)
	c, err := coordinator.New(coordinator.Config{Bucket: "bkt", Prefix: "r:", Now: time.Now}, store, e.rdb)
	if err != nil {
		t.Fatal(err)
	}
	body := content(1)
	u := coordinator.Upload{ID: "r1", User: "ivy", Path: "a.txt", Device: "d", SHA256: sum(body)}
	key := coordinator.StagingKey(u.User, u.ID)
	if _, err := client.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String("bkt"), Key: &key,
		Body: bytes.NewReader(body), Metadata: coordinator.Metadata(u)}); err != nil {
		t.Fatal(err)
	}
	f.fail.Store(3) // the first call fails three times, the fourth attempt gets through
	if err := c.HandleKey(context.Background(), key); err != nil {
		t.Fatalf("handler failed through the retries: %v", err)
	}
	r, ok, err := c.Result(context.Background(), "ivy", "r1")
	if err != nil || !ok || r.State != coordinator.StateCommitted {
		t.Fatalf("result = %+v ok=%v err=%v, want committed", r, ok, err)
	}
}
