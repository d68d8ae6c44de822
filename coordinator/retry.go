package coordinator

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// RetryPolicy bounds the coordinator's own retries of S3 calls: full-jitter
// exponential backoff, a wait in [0, min(Max, Base*2^n)) before retry n+1.
//
// It sits on top of the SDK's retryer, which already retries each request
// (three attempts by default). The SDK's client-side retry quota (a token
// bucket shared by every call of a client) empties under a burst of
// injected or real 5xx answers and then fails calls without trying; this
// layer backs off and tries again, so the quota's "retry quota exceeded"
// counts as transient here. Under a sustained outage a call makes at most
// Attempts times the SDK's attempts, and never waits past its context.
type RetryPolicy struct {
	Attempts int           // total attempts per call, the first included (default 4)
	Base     time.Duration // first backoff bound (default 50ms)
	Max      time.Duration // backoff cap (default 2s)
	// Jitter returns a number in [0, 1); nil uses math/rand/v2. Tests pass
	// a fixed one.
	Jitter func() float64
	// OnRetry, when set, learns of each retry before its wait (metrics).
	OnRetry func(op string, attempt int, err error)
}

// RetryStore is an ObjectStore that retries transient failures (5xx,
// throttling such as SlowDown, dropped connections) with RetryPolicy.
// Client errors (404, 412 and other 4xx) pass through at once. A PutObject
// whose body cannot be rewound (a stream) is not retried: the invocation
// fails and the event is retried as a whole, which is safe.
type RetryStore struct {
	next ObjectStore
	p    RetryPolicy
}

var (
	_ ObjectStore = (*RetryStore)(nil)
	_ Lister      = (*RetryStore)(nil)
)

// NewRetryStore wraps next with p (zero fields take their defaults).
func NewRetryStore(next ObjectStore, p RetryPolicy) *RetryStore {
	if p.Attempts <= 0 {
		p.Attempts = 4
	}
	if p.Base <= 0 {
		p.Base = 50 * time.Millisecond
	}
	if p.Max <= 0 {
		p.Max = 2 * time.Second
	}
	if p.Max < p.Base {
		p.Max = p.Base
	}
	if p.Jitter == nil {
		p.Jitter = rand.Float64
	}
	return &RetryStore{next: next, p: p}
}

// Unwrap returns the wrapped store.
func (s *RetryStore) Unwrap() ObjectStore { return s.next }

// retry runs call until it succeeds, fails for good, runs out of attempts
// or ctx ends. rewind, when not nil, prepares a retry and reports whether
// one is possible.
func retry[T any](ctx context.Context, s *RetryStore, op string, rewind func() bool, call func() (T, error)) (T, error) {
	for attempt := 1; ; attempt++ {
		out, err := call()
		if err == nil || attempt >= s.p.Attempts || !Retryable(err) || ctx.Err() != nil {
			return out, err
		}
		if rewind != nil && !rewind() {
			return out, err
		}
		if s.p.OnRetry != nil {
			s.p.OnRetry(op, attempt, err)
		}
		bound := min(s.p.Max, s.p.Base<<min(attempt-1, 30))
		t := time.NewTimer(time.Duration(s.p.Jitter() * float64(bound)))
		select {
		case <-ctx.Done():
			t.Stop()
			return out, err
		case <-t.C:
		}
	}
}

// GetObject implements ObjectStore.
func (s *RetryStore) GetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	return retry(ctx, s, "GetObject", nil, func() (*s3.GetObjectOutput, error) { return s.next.GetObject(ctx, in, opts...) })
}

// HeadObject implements ObjectStore.
func (s *RetryStore) HeadObject(ctx context.Context, in *s3.HeadObjectInput, opts ...func(*s3.Options)) (*s3.HeadObjectOutput, error) {
	return retry(ctx, s, "HeadObject", nil, func() (*s3.HeadObjectOutput, error) { return s.next.HeadObject(ctx, in, opts...) })
}

// PutObject implements ObjectStore; it retries only when the body can be
// rewound (nil or an io.Seeker).
func (s *RetryStore) PutObject(ctx context.Context, in *s3.PutObjectInput, opts ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	rewind := func() bool { return true }
	if in.Body != nil {
		seeker, ok := in.Body.(io.Seeker)
		var start int64
		if ok {
			var err error
			start, err = seeker.Seek(0, io.SeekCurrent)
			ok = err == nil
		}
		rewind = func() bool {
			if !ok {
				return false
			}
			_, err := seeker.Seek(start, io.SeekStart)
			return err == nil
		}
	}
	return retry(ctx, s, "PutObject", rewind, func() (*s3.PutObjectOutput, error) { return s.next.PutObject(ctx, in, opts...) })
}

// CopyObject implements ObjectStore.
func (s *RetryStore) CopyObject(ctx context.Context, in *s3.CopyObjectInput, opts ...func(*s3.Options)) (*s3.CopyObjectOutput, error) {
	return retry(ctx, s, "CopyObject", nil, func() (*s3.CopyObjectOutput, error) { return s.next.CopyObject(ctx, in, opts...) })
}

// DeleteObject implements ObjectStore.
func (s *RetryStore) DeleteObject(ctx context.Context, in *s3.DeleteObjectInput, opts ...func(*s3.Options)) (*s3.DeleteObjectOutput, error) {
	return retry(ctx, s, "DeleteObject", nil, func() (*s3.DeleteObjectOutput, error) { return s.next.DeleteObject(ctx, in, opts...) })
}

// ListObjectsV2 implements Lister when the wrapped store does; otherwise it
// fails with ErrNoLister.
func (s *RetryStore) ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, opts ...func(*s3.Options)) (*s3.ListObjectsV2Output, error) {
	l, ok := s.next.(Lister)
	if !ok {
		return nil, ErrNoLister
	}
	return retry(ctx, s, "ListObjectsV2", nil, func() (*s3.ListObjectsV2Output, error) { return l.ListObjectsV2(ctx, in, opts...) })
}

// transientCodes are S3 error codes worth another try.
var transientCodes = map[string]bool{
	"SlowDown": true, "Throttling": true, "ThrottlingException": true, "RequestLimitExceeded": true,
	"TooManyRequestsException": true, "RequestThrottled": true, "BandwidthLimitExceeded": true,
	"ServiceUnavailable": true, "InternalError": true, "RequestTimeout": true, "RequestTimeoutException": true,
	"PriorRequestNotComplete": true,
}

// Retryable reports whether err is transient: a 5xx, 408 or 429 answer, a
// throttling or internal error code, the SDK's retry quota running out, or
// a connection that failed or broke. A cancelled or expired context is
// never retryable.
func Retryable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var quota ratelimit.QuotaExceededError
	if errors.As(err, &quota) {
		return true
	}
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		switch code := re.HTTPStatusCode(); {
		case code >= 500 || code == 408 || code == 429:
			return true
		case code >= 400:
			var api smithy.APIError
			return errors.As(err, &api) && transientCodes[api.ErrorCode()]
		}
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		return transientCodes[api.ErrorCode()]
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EPIPE) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne)
}
