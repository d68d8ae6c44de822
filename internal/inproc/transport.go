// Package inproc connects the harness's real clients to servers in the same
// process without a network: an http.RoundTripper that serves requests
// with an http.Handler, and an in-memory net.Conn pair for Redis clients.
//
// The clients stay the real ones (the AWS SDK, presigned HTTP PUTs,
// go-redis); only the bytes skip the kernel's loopback. What TCP gave for
// free is kept on purpose: bodies stream both ways, a cancelled request
// context reaches the handler, closing a response body early stops the
// handler's writes, a handler that writes faster than the client reads
// waits for it (backpressure), and a closed connection reads EOF. A host
// whose replies are small can instead be served inline (Route.Inline): in
// the caller's goroutine, the reply buffered, so a request waiting inside
// the server costs no goroutine of its own.
package inproc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
)

// ErrClosed is returned for requests after Transport.Close.
var ErrClosed = errors.New("inproc: transport closed")

// Transport serves requests to registered hosts with their handlers, in
// this process, and passes every other request to Next (nil: an error).
// The zero value is usable; Close stops it.
//
// A request takes no exclusive lock: the routes are an immutable map
// replaced whole by Handle, and requests enter under a read lock that only
// Close takes for writing.
type Transport struct {
	Next http.RoundTripper

	routes   atomic.Pointer[map[string]Route]
	handleMu sync.Mutex // serialises Handle and Route

	mu     sync.RWMutex // read: a request entering; write: Close
	closed bool
	wg     sync.WaitGroup // handlers in progress, inline ones included

	streams streams // streamed response bodies not yet finished
}

var _ http.RoundTripper = (*Transport)(nil)

// Route is how a host's requests are served.
type Route struct {
	Handler http.Handler
	// Inline serves each request in the caller's goroutine and buffers the
	// reply, instead of serving it in a goroutine of its own and streaming
	// the reply. Only for replies small enough to hold in memory: a
	// buffered reply has no backpressure.
	Inline bool
	// Stream, with Inline, picks the requests still served the streamed
	// way (replies too large to buffer, such as object GETs); nil: none.
	Stream func(*http.Request) bool
}

// Handle routes requests for host ("127.0.0.1:PORT", as in the URL) to h,
// each served in a goroutine of its own with its reply streamed.
func (t *Transport) Handle(host string, h http.Handler) { t.Route(host, Route{Handler: h}) }

// Route routes requests for host to r.
func (t *Transport) Route(host string, r Route) {
	t.handleMu.Lock()
	defer t.handleMu.Unlock()
	m := map[string]Route{}
	if old := t.routes.Load(); old != nil {
		for k, v := range *old {
			m[k] = v
		}
	}
	m[host] = r
	t.routes.Store(&m)
}

// Close fails the bodies still being written and waits for every handler
// to return; later requests to registered hosts fail.
func (t *Transport) Close() {
	t.mu.Lock()
	t.closed = true
	t.mu.Unlock()
	t.streams.closeAll()
	t.wg.Wait()
}

// enter counts a request in, unless the transport is closed.
func (t *Transport) enter() bool {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if t.closed {
		return false
	}
	t.wg.Add(1)
	return true
}

// RoundTrip serves req with its host's handler: inline, or in a new
// goroutine returning as soon as the handler has written its header, the
// body streaming from the handler's writes (Route).
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	return t.roundTrip(req, tag{})
}

// WithHeader returns a RoundTripper that serves as t does and adds header
// name: value to every request that does not carry it: on the handler's
// copy of a request it serves (which it builds anyway), on a copy of the
// request it passes to Next. A client's requests then carry its name
// without a copy of every request's header map of its own.
func (t *Transport) WithHeader(name, value string) http.RoundTripper {
	return tagged{t: t, tag: tag{name: http.CanonicalHeaderKey(name), value: []string{value}}}
}

type tagged struct {
	t   *Transport
	tag tag
}

func (g tagged) RoundTrip(req *http.Request) (*http.Response, error) {
	return g.t.roundTrip(req, g.tag)
}

// tag is a header added to requests; value is shared by every request and
// never changed.
type tag struct {
	name  string
	value []string
}

// missing reports whether h lacks the tag's header (never, for no tag).
func (g tag) missing(h http.Header) bool { return g.name != "" && len(h[g.name]) == 0 }

// copyHeader is a new map with h's entries, their value slices shared,
// and room for extra more.
func copyHeader(h http.Header, extra int) http.Header {
	c := make(http.Header, len(h)+extra)
	for k, v := range h {
		c[k] = v
	}
	return c
}

func (t *Transport) roundTrip(req *http.Request, g tag) (*http.Response, error) {
	var r Route
	if m := t.routes.Load(); m != nil {
		r = (*m)[req.URL.Host]
	}
	if r.Handler == nil {
		if t.Next == nil {
			closeBody(req)
			return nil, fmt.Errorf("inproc: no handler for host %q", req.URL.Host)
		}
		if g.missing(req.Header) {
			// A RoundTripper must not change its caller's request.
			r := *req
			r.Header = copyHeader(req.Header, 1)
			r.Header[g.name] = g.value
			req = &r
		}
		return t.Next.RoundTrip(req)
	}
	if !t.enter() {
		closeBody(req)
		return nil, ErrClosed
	}
	if r.Inline && (r.Stream == nil || !r.Stream(req)) {
		return t.serveInline(r.Handler, req, g)
	}
	return t.serveStreamed(r.Handler, req, g)
}

// serve runs h; a panic is returned as the error a client sees when a
// server's connection fails.
func serve(h http.Handler, w http.ResponseWriter, r *http.Request) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("inproc: handler panic: %v", p)
		}
	}()
	h.ServeHTTP(w, r)
	return nil
}

// serverRequest is req as net/http's server would hand it to a handler,
// with tag g added to its header. The handler gets a header map and URL
// of its own; the header's value slices are the client's (a handler
// replaces a value, as Header.Set does, and never writes into one: a
// deep copy of every header of every request was the largest allocation
// of a run).
func serverRequest(ctx context.Context, req *http.Request, g tag) *http.Request {
	s := req.WithContext(ctx) // a shallow copy
	u := *req.URL
	s.URL = &u
	s.Header = copyHeader(req.Header, 2) // room for the tag and Content-Length
	if g.missing(s.Header) {
		s.Header[g.name] = g.value
	}
	s.RequestURI = req.URL.RequestURI()
	s.RemoteAddr = "inproc:0"
	s.Proto, s.ProtoMajor, s.ProtoMinor = "HTTP/1.1", 1, 1
	if s.Host == "" {
		s.Host = req.URL.Host
	}
	s.URL.Scheme, s.URL.Host = "", ""
	switch {
	case req.Body == nil || req.Body == http.NoBody:
		s.Body, s.ContentLength = http.NoBody, 0
	case req.ContentLength > 0:
		// A server never reads past Content-Length.
		s.Body = &limitedBody{r: req.Body, n: req.ContentLength}
		s.Header.Set("Content-Length", strconv.FormatInt(req.ContentLength, 10))
	case req.ContentLength == 0:
		// An unknown length with a body: sent chunked.
		s.Body, s.ContentLength = io.NopCloser(req.Body), -1
		s.TransferEncoding = []string{"chunked"}
	default:
		s.Body = io.NopCloser(req.Body)
	}
	return s
}

// response is the client's view of a reply with status and header.
func response(req *http.Request, status int, header http.Header) *http.Response {
	resp := &http.Response{
		Status: statusLine(status), StatusCode: status,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: header, ContentLength: -1, Request: req,
	}
	if cl := header.Get("Content-Length"); cl != "" {
		if n, err := strconv.ParseInt(cl, 10, 64); err == nil {
			resp.ContentLength = n
		}
	}
	return resp
}

// noBody reports whether a reply to req with status has no body.
func noBody(req *http.Request, status int) bool {
	return req.Method == http.MethodHead || status == http.StatusNoContent || status == http.StatusNotModified
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		_ = req.Body.Close()
	}
}

// limitedBody is a request body as a server hands it to a handler: at
// most n bytes of r; closing it is RoundTrip's business.
type limitedBody struct {
	r io.Reader
	n int64
}

func (l *limitedBody) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}

func (l *limitedBody) Close() error { return nil }

// statusLines are the Status strings of the codes net/http names, built
// once instead of per response.
var statusLines = func() map[int]string {
	m := map[int]string{}
	for code := 100; code < 600; code++ {
		if text := http.StatusText(code); text != "" {
			m[code] = strconv.Itoa(code) + " " + text
		}
	}
	return m
}()

func statusLine(code int) string {
	if s, ok := statusLines[code]; ok {
		return s
	}
	return strconv.Itoa(code) + " " + http.StatusText(code)
}
