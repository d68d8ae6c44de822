package env

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/synctest"
	"time"
)

// roundTripFunc serves a request in the caller's goroutine.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestDeadlineTransport_RoundTrip_TimesOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		slow := roundTripFunc(func(r *http.Request) (*http.Response, error) {
			<-r.Context().Done() // a server that never answers
			return nil, r.Context().Err()
		})
		hc := &http.Client{Transport: deadlineTransport{next: slow, timeout: time.Minute}}
		start := time.Now()
		_, err := hc.Get("http://embedded/x")
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want the deadline", err)
		}
		if d := time.Since(start); d != time.Minute {
			t.Errorf("failed after %v, want 1m", d)
		}
	})
}

func TestDeadlineTransport_RoundTrip_CloseReleases(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var ctx context.Context
		ok := roundTripFunc(func(r *http.Request) (*http.Response, error) {
			ctx = r.Context()
			rec := httptest.NewRecorder()
			rec.WriteString("body")
			return rec.Result(), nil
		})
		hc := &http.Client{Transport: deadlineTransport{next: ok, timeout: time.Hour}}
		resp, err := hc.Get("http://embedded/x")
		if err != nil {
			t.Fatal(err)
		}
		if b, _ := io.ReadAll(resp.Body); string(b) != "body" {
			t.Errorf("body %q", b)
		}
		if ctx.Err() != nil {
			t.Fatalf("deadline released before the body was closed: %v", ctx.Err())
		}
		resp.Body.Close()
		if !errors.Is(ctx.Err(), context.Canceled) {
			t.Errorf("after Close the request's context is %v, want canceled", ctx.Err())
		}
	})
}
