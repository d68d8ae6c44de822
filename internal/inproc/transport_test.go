package inproc

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
)

func client(t *testing.T, h http.Handler) (*http.Client, *Transport) {
	t.Helper()
	tr := &Transport{}
	tr.Handle("s3.test:1", h)
	t.Cleanup(tr.Close)
	return &http.Client{Transport: tr}, tr
}

func TestTransport_RoundTrip_Exchanges(t *testing.T) {
	echo := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Path", r.URL.Path+"?"+r.URL.RawQuery)
		w.Header().Set("X-Len", r.Header.Get("Content-Length"))
		w.Header().Set("X-Host", r.Host)
		w.Header().Set("Content-Length", "3")
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write(b[:min(len(b), 3)])
	})
	tests := []struct {
		name, method string
		body         io.Reader
		length       int64
		wantStatus   int
		wantBody     string
		wantLen      string
	}{
		{"put with a length", http.MethodPut, strings.NewReader("abcdef"), 6, 201, "abc", "6"},
		{"put streamed without a length", http.MethodPut, io.MultiReader(strings.NewReader("xyz")), 0, 201, "xyz", ""},
		{"get", http.MethodGet, nil, 0, 201, "", ""},
		{"head has no body", http.MethodHead, nil, 0, 201, "", ""},
	}
	c, _ := client(t, echo)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, "http://s3.test:1/bucket/key?x=1", tt.body)
			if tt.length > 0 {
				req.ContentLength = tt.length
			}
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus || string(got) != tt.wantBody {
				t.Errorf("got %d %q, want %d %q", resp.StatusCode, got, tt.wantStatus, tt.wantBody)
			}
			if p := resp.Header.Get("X-Path"); p != "/bucket/key?x=1" {
				t.Errorf("handler saw path %q", p)
			}
			if h := resp.Header.Get("X-Host"); h != "s3.test:1" {
				t.Errorf("handler saw host %q", h)
			}
			if l := resp.Header.Get("X-Len"); l != tt.wantLen {
				t.Errorf("handler saw Content-Length %q, want %q", l, tt.wantLen)
			}
			if resp.ContentLength != 3 {
				t.Errorf("ContentLength = %d, want 3", resp.ContentLength)
			}
		})
	}
}

// The response body streams: the client reads the first chunk while the
// handler has not written the second, and a handler's write waits for the
// client to read (backpressure).
func TestTransport_RoundTrip_StreamsWithBackpressure(t *testing.T) {
	second := make(chan struct{})
	wrote := make(chan struct{})
	c, _ := client(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("first"))
		close(wrote) // the client has read "first": a write returns only then
		<-second
		_, _ = w.Write([]byte("second"))
	}))
	resp, err := c.Get("http://s3.test:1/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	buf := make([]byte, 5)
	if _, err := io.ReadFull(resp.Body, buf); err != nil || string(buf) != "first" {
		t.Fatalf("first chunk = %q, %v", buf, err)
	}
	<-wrote
	close(second)
	rest, err := io.ReadAll(resp.Body)
	if err != nil || string(rest) != "second" {
		t.Fatalf("rest = %q, %v", rest, err)
	}
}

// Closing the body early fails the handler's pending write and cancels its
// context, as a closed connection does; Close then has no goroutine left.
func TestTransport_Body_CloseEarlyStopsHandler(t *testing.T) {
	done := make(chan error, 1)
	c, tr := client(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var err error
		for err == nil {
			_, err = w.Write(make([]byte, 1024))
		}
		<-r.Context().Done()
		done <- err
	}))
	resp, err := c.Get("http://s3.test:1/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if err := <-done; !errors.Is(err, errBodyClosed) {
		t.Errorf("handler's write failed with %v, want errBodyClosed", err)
	}
	tr.Close() // returns: the handler goroutine is gone
}

// A cancelled request reaches the handler through its context.
func TestTransport_RoundTrip_CancelReachesHandler(t *testing.T) {
	started := make(chan struct{})
	seen := make(chan error, 1)
	c, _ := client(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-r.Context().Done()
		seen <- r.Context().Err()
	}))
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://s3.test:1/", nil)
	go func() { <-started; cancel() }()
	if _, err := c.Do(req); !errors.Is(err, context.Canceled) {
		t.Errorf("Do = %v, want context.Canceled", err)
	}
	if err := <-seen; !errors.Is(err, context.Canceled) {
		t.Errorf("handler saw %v", err)
	}
}

func TestTransport_RoundTrip_Failures(t *testing.T) {
	t.Run("handler panic fails the request", func(t *testing.T) {
		c, _ := client(t, http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") }))
		if _, err := c.Get("http://s3.test:1/"); err == nil || !strings.Contains(err.Error(), "boom") {
			t.Errorf("Get = %v, want the panic", err)
		}
	})
	t.Run("unknown host without Next", func(t *testing.T) {
		c, _ := client(t, http.NotFoundHandler())
		if _, err := c.Get("http://other:2/"); err == nil {
			t.Error("want an error")
		}
	})
	t.Run("unknown host goes to Next", func(t *testing.T) {
		tr := &Transport{Next: roundTripFunc(func(*http.Request) (*http.Response, error) {
			return &http.Response{StatusCode: 299, Body: io.NopCloser(bytes.NewReader(nil))}, nil
		})}
		defer tr.Close()
		resp, err := (&http.Client{Transport: tr}).Get("http://other:2/")
		if err != nil || resp.StatusCode != 299 {
			t.Errorf("Get = %v, %v", resp, err)
		}
	})
	t.Run("closed transport", func(t *testing.T) {
		c, tr := client(t, http.NotFoundHandler())
		tr.Close()
		if _, err := c.Get("http://s3.test:1/"); !errors.Is(err, ErrClosed) {
			t.Errorf("Get = %v, want ErrClosed", err)
		}
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
