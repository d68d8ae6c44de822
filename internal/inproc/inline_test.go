package inproc

import (
	"context"
	"errors"
	"io"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
)

func inlineClient(t *testing.T, h http.Handler, stream func(*http.Request) bool) (*http.Client, *Transport) {
	t.Helper()
	tr := &Transport{}
	tr.Route("s3.test:1", Route{Handler: h, Inline: true, Stream: stream})
	t.Cleanup(tr.Close)
	return &http.Client{Transport: tr}, tr
}

// inCaller reports whether a handler runs in the goroutine that sent:
// whether the client's call is on the current goroutine's stack.
func inCaller() bool {
	buf := make([]byte, 64<<10)
	return strings.Contains(string(buf[:runtime.Stack(buf, false)]), "net/http.(*Client).Do(")
}

func isGet(r *http.Request) bool { return r.Method == http.MethodGet }

func TestTransport_RoundTrip_InlineServesInCaller(t *testing.T) {
	tests := []struct {
		name, method string
		stream       func(*http.Request) bool
		want         bool
	}{
		{"put inline", http.MethodPut, isGet, true},
		{"get streamed", http.MethodGet, isGet, false},
		{"get inline without Stream", http.MethodGet, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seen := make(chan bool, 1)
			c, _ := inlineClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				seen <- inCaller()
			}), tt.stream)
			req, _ := http.NewRequest(tt.method, "http://s3.test:1/k", nil)
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if got := <-seen; got != tt.want {
				t.Errorf("handler in the caller's goroutine = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestTransport_RoundTrip_InlineExchanges(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Path", r.URL.Path+"?"+r.URL.RawQuery)
		w.Header().Set("X-Len", r.Header.Get("Content-Length"))
		switch string(b) {
		case "empty":
			w.WriteHeader(http.StatusNoContent)
		case "late-header":
			w.WriteHeader(http.StatusAccepted)
			w.Header().Set("X-Late", "1") // after WriteHeader: not sent
			_, _ = w.Write([]byte("body"))
		case "continue":
			w.WriteHeader(http.StatusContinue) // informational: not forwarded
			_, _ = w.Write([]byte("ok"))
		default:
			w.WriteHeader(http.StatusCreated)
			_, _ = w.Write(b)
			_, _ = w.Write(b)
		}
	})
	tests := []struct {
		name, method, body string
		wantStatus         int
		wantBody           string
		wantLen            int64
	}{
		{"put echoes twice", http.MethodPut, "abc", 201, "abcabc", 6},
		{"no content", http.MethodPut, "empty", 204, "", 0},
		{"header as it was when written", http.MethodPost, "late-header", 202, "body", 4},
		{"100 Continue skipped", http.MethodPut, "continue", 200, "ok", 2},
		{"head has no body", http.MethodHead, "", 201, "", 0},
	}
	c, _ := inlineClient(t, h, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body io.Reader
			if tt.body != "" {
				body = strings.NewReader(tt.body)
			}
			req, _ := http.NewRequest(tt.method, "http://s3.test:1/bucket/key?x=1", body)
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != tt.wantStatus || string(got) != tt.wantBody {
				t.Errorf("got %d %q (%v), want %d %q", resp.StatusCode, got, err, tt.wantStatus, tt.wantBody)
			}
			if resp.ContentLength != tt.wantLen {
				t.Errorf("ContentLength = %d, want %d", resp.ContentLength, tt.wantLen)
			}
			if p := resp.Header.Get("X-Path"); p != "/bucket/key?x=1" {
				t.Errorf("handler saw path %q", p)
			}
			want := ""
			if tt.body != "" {
				want = strconv.Itoa(len(tt.body))
			}
			if l := resp.Header.Get("X-Len"); l != want {
				t.Errorf("handler saw Content-Length %q, want %q", l, want)
			}
			if resp.Header.Get("X-Late") != "" {
				t.Error("a header set after WriteHeader was sent")
			}
		})
	}
}

func TestTransport_RoundTrip_InlineFailures(t *testing.T) {
	t.Run("cancel reaches the handler and fails the request", func(t *testing.T) {
		seen := make(chan error, 1)
		ctx, cancel := context.WithCancel(context.Background())
		c, _ := inlineClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			cancel()
			<-r.Context().Done()
			seen <- r.Context().Err()
		}), nil)
		req, _ := http.NewRequestWithContext(ctx, http.MethodPut, "http://s3.test:1/", strings.NewReader("x"))
		if _, err := c.Do(req); !errors.Is(err, context.Canceled) {
			t.Errorf("Do = %v, want context.Canceled", err)
		}
		if err := <-seen; !errors.Is(err, context.Canceled) {
			t.Errorf("handler saw %v", err)
		}
	})
	t.Run("handler panic fails the request", func(t *testing.T) {
		c, _ := inlineClient(t, http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") }), nil)
		if _, err := c.Post("http://s3.test:1/", "text/plain", strings.NewReader("x")); err == nil || !strings.Contains(err.Error(), "boom") {
			t.Errorf("Post = %v, want the panic", err)
		}
	})
	t.Run("read after close", func(t *testing.T) {
		c, _ := inlineClient(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			_, _ = w.Write([]byte("reply"))
		}), nil)
		resp, err := c.Get("http://s3.test:1/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if _, err := resp.Body.Read(make([]byte, 8)); err == nil {
			t.Error("read after Close succeeded")
		}
	})
}

// Close waits for an inline handler in progress, then refuses requests.
func TestTransport_Close_WaitsForInline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		tr := &Transport{}
		tr.Route("s3.test:1", Route{Handler: http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-release }), Inline: true})
		c := &http.Client{Transport: tr}
		done := make(chan error, 1)
		go func() {
			resp, err := c.Post("http://s3.test:1/", "text/plain", strings.NewReader("x"))
			if err == nil {
				resp.Body.Close()
			}
			done <- err
		}()
		synctest.Wait() // the handler is waiting
		closed := make(chan struct{})
		go func() { tr.Close(); close(closed) }()
		synctest.Wait()
		select {
		case <-closed:
			t.Fatal("Close returned with a handler in progress")
		default:
		}
		close(release)
		<-closed
		if err := <-done; err != nil {
			t.Errorf("the request in progress failed: %v", err)
		}
		if _, err := c.Post("http://s3.test:1/", "text/plain", strings.NewReader("x")); !errors.Is(err, ErrClosed) {
			t.Errorf("after Close: %v, want ErrClosed", err)
		}
	})
}

// WithHeader tags what the handler sees, inline and streamed, and what
// goes to Next, and never the client's own request; a request that
// carries the header keeps its value.
func TestTransport_WithHeader(t *testing.T) {
	var next http.Header
	tr := &Transport{Next: roundTripperFunc(func(r *http.Request) (*http.Response, error) {
		next = r.Header
		return &http.Response{StatusCode: http.StatusNoContent, Body: http.NoBody, Request: r}, nil
	})}
	seen := make(chan http.Header, 1)
	tr.Route("s3.test:1", Route{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen <- r.Header
		r.Header.Set("X-Server-Side", "changed") // the handler's own map
	}), Inline: true, Stream: isGet})
	t.Cleanup(tr.Close)
	c := &http.Client{Transport: tr.WithHeader("stormsim-client", "device")}
	for _, tt := range []struct{ method, url, preset, want string }{
		{http.MethodPut, "http://s3.test:1/k", "", "device"},
		{http.MethodGet, "http://s3.test:1/k", "", "device"},
		{http.MethodPut, "http://s3.test:1/k", "api", "api"},
		{http.MethodPut, "http://elsewhere:1/k", "", "device"},
	} {
		req, _ := http.NewRequest(tt.method, tt.url, nil)
		req.Header.Set("X-Mine", "1")
		if tt.preset != "" {
			req.Header.Set("Stormsim-Client", tt.preset)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		var got http.Header
		if strings.HasPrefix(tt.url, "http://elsewhere") {
			got = next
		} else {
			got = <-seen
		}
		if v := got.Get("Stormsim-Client"); v != tt.want || got.Get("X-Mine") != "1" {
			t.Errorf("%s %s: served Stormsim-Client %q X-Mine %q, want %q and 1", tt.method, tt.url, v, got.Get("X-Mine"), tt.want)
		}
		if req.Header.Get("Stormsim-Client") != tt.preset || req.Header.Get("X-Server-Side") != "" || len(req.Header) != 1+min(len(tt.preset), 1) {
			t.Errorf("%s %s: the client's request header changed: %v", tt.method, tt.url, req.Header)
		}
	}
}

// A header change after WriteHeader does not reach the client, inline as
// on a server.
func TestTransport_Inline_HeaderAfterWriteIgnored(t *testing.T) {
	c, _ := inlineClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Before", "1")
		w.WriteHeader(http.StatusCreated)
		w.Header().Set("X-After", "1")
		_, _ = io.WriteString(w, "ok")
	}), nil)
	resp, err := c.Post("http://s3.test:1/k", "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated || resp.Header.Get("X-Before") != "1" || resp.Header.Get("X-After") != "" {
		t.Errorf("status %d, header %v: want 201 with X-Before only", resp.StatusCode, resp.Header)
	}
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
