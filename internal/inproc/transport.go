// Package inproc connects the harness's real clients to servers in the same
// process without a network: an http.RoundTripper that serves requests
// with an http.Handler, and an in-memory net.Conn pair for Redis clients.
//
// The clients stay the real ones (the AWS SDK, presigned HTTP PUTs,
// go-redis); only the bytes skip the kernel's loopback. What TCP gave for
// free is kept on purpose: bodies stream both ways, a cancelled request
// context reaches the handler, closing a response body early stops the
// handler's writes, a handler that writes faster than the client reads
// waits for it (backpressure), and a closed connection reads EOF.
package inproc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
)

// ErrClosed is returned for requests after Transport.Close.
var ErrClosed = errors.New("inproc: transport closed")

// Transport serves requests to registered hosts with their handlers, in
// this process, and passes every other request to Next (nil: an error).
// The zero value is usable; Close stops it.
type Transport struct {
	Next http.RoundTripper

	mu     sync.Mutex // guards the fields below
	routes map[string]http.Handler
	open   map[*io.PipeReader]struct{} // response bodies not yet finished
	closed bool
	wg     sync.WaitGroup // handler goroutines
}

var _ http.RoundTripper = (*Transport)(nil)

// Handle routes requests for host ("127.0.0.1:PORT", as in the URL) to h.
func (t *Transport) Handle(host string, h http.Handler) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.routes == nil {
		t.routes = map[string]http.Handler{}
	}
	t.routes[host] = h
}

// Close fails the bodies still being written and waits for every handler
// goroutine to return; later requests to registered hosts fail.
func (t *Transport) Close() {
	t.mu.Lock()
	t.closed = true
	for pr := range t.open {
		pr.CloseWithError(ErrClosed)
	}
	t.mu.Unlock()
	t.wg.Wait()
}

// RoundTrip serves req with its host's handler in a new goroutine and
// returns as soon as the handler has written its header; the body streams
// from the handler's writes.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	t.mu.Lock()
	h, ok := t.routes[req.URL.Host]
	if !ok {
		t.mu.Unlock()
		if t.Next == nil {
			closeBody(req)
			return nil, fmt.Errorf("inproc: no handler for host %q", req.URL.Host)
		}
		return t.Next.RoundTrip(req)
	}
	if t.closed {
		t.mu.Unlock()
		closeBody(req)
		return nil, ErrClosed
	}
	pr, pw := io.Pipe()
	if t.open == nil {
		t.open = map[*io.PipeReader]struct{}{}
	}
	t.open[pr] = struct{}{}
	t.wg.Add(1)
	t.mu.Unlock()

	// The handler's context ends with the client's, or when the client
	// closes the response body (as a server's does when the connection
	// goes away).
	ctx, cancel := context.WithCancel(req.Context())
	sreq := serverRequest(ctx, req)
	w := &responseWriter{header: http.Header{}, head: req.Method == http.MethodHead, pw: pw, ready: make(chan struct{})}
	go func() {
		defer t.wg.Done()
		defer closeBody(req) // RoundTrip owns the request body
		defer func() {
			if p := recover(); p != nil {
				// As net/http's server: the client sees the connection fail.
				w.fail(fmt.Errorf("inproc: handler panic: %v", p))
				return
			}
			w.finish()
		}()
		h.ServeHTTP(w, sreq)
	}()

	select {
	case <-w.ready:
	case <-req.Context().Done():
		// The handler sees the same cancellation and returns; its goroutine
		// is still waited for by Close.
		t.release(pr, ErrClosed)
		cancel()
		return nil, req.Context().Err()
	}
	if w.err != nil {
		t.release(pr, w.err)
		cancel()
		return nil, w.err
	}
	resp := &http.Response{
		Status: statusLine(w.status), StatusCode: w.status,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: w.sent, ContentLength: -1, Request: req,
		Body: &body{pr: pr, t: t, cancel: cancel},
	}
	if cl := w.sent.Get("Content-Length"); cl != "" {
		if n, err := strconv.ParseInt(cl, 10, 64); err == nil {
			resp.ContentLength = n
		}
	}
	if req.Method == http.MethodHead || w.status == http.StatusNoContent || w.status == http.StatusNotModified {
		resp.Body.Close()
		resp.Body = http.NoBody
	}
	return resp, nil
}

// release forgets a finished response body and fails its writer's pending
// and later writes with err.
func (t *Transport) release(pr *io.PipeReader, err error) {
	pr.CloseWithError(err)
	t.mu.Lock()
	delete(t.open, pr)
	t.mu.Unlock()
}

// serverRequest is req as net/http's server would hand it to a handler.
func serverRequest(ctx context.Context, req *http.Request) *http.Request {
	s := req.Clone(ctx)
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

func closeBody(req *http.Request) {
	if req.Body != nil {
		_ = req.Body.Close()
	}
}

// responseWriter hands the header to RoundTrip once and streams the body
// through a pipe: a write waits until the client has read it.
type responseWriter struct {
	header http.Header
	head   bool // a HEAD request: writes are discarded, as a server does
	pw     *io.PipeWriter

	// Set before ready is closed, read after.
	status int
	sent   http.Header
	err    error
	ready  chan struct{}
}

func (w *responseWriter) Header() http.Header { return w.header }

func (w *responseWriter) WriteHeader(code int) {
	if w.sent != nil || code < 200 {
		return // informational responses (100 Continue) are not forwarded
	}
	w.status, w.sent = code, w.header.Clone()
	close(w.ready)
}

func (w *responseWriter) Write(p []byte) (int, error) {
	if w.sent == nil {
		w.WriteHeader(http.StatusOK)
	}
	if w.head {
		return len(p), nil
	}
	return w.pw.Write(p)
}

// Flush sends the header; body bytes are never buffered here.
func (w *responseWriter) Flush() {
	if w.sent == nil {
		w.WriteHeader(http.StatusOK)
	}
}

// finish ends the body after the handler returned.
func (w *responseWriter) finish() {
	if w.sent == nil {
		w.WriteHeader(http.StatusOK)
	}
	_ = w.pw.Close()
}

// fail ends the exchange with err: RoundTrip returns it when the header
// was not sent yet, the body's reader gets it otherwise.
func (w *responseWriter) fail(err error) {
	if w.sent == nil {
		w.err, w.sent = err, http.Header{}
		close(w.ready)
	}
	_ = w.pw.CloseWithError(err)
}

// body is the client's side of a response body; Close stops the handler's
// writes and cancels its context.
type body struct {
	pr     *io.PipeReader
	t      *Transport
	cancel context.CancelFunc
	once   sync.Once
}

func (b *body) Read(p []byte) (int, error) {
	n, err := b.pr.Read(p)
	if err == io.EOF {
		b.once.Do(func() { b.done(io.EOF) })
	}
	return n, err
}

func (b *body) Close() error {
	b.once.Do(func() { b.done(errBodyClosed) })
	return nil
}

// done releases the body's pipe with err and ends the handler's context.
func (b *body) done(err error) {
	b.t.release(b.pr, err)
	b.cancel()
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

// errBodyClosed is what a handler's write gets after the client closed the
// response body.
var errBodyClosed = errors.New("inproc: client closed the response body")
