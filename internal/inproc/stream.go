package inproc

import (
	"context"
	"errors"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
)

// The streamed way: the handler runs in a goroutine of its own and the
// reply's body streams through a pipe, with backpressure.

// streams are the streamed response bodies not yet finished, for Close,
// in shards: every request registers and releases its body, and one lock
// for all of them had thousands of waiters at 10,000 uploads in flight.
type streams struct {
	next   atomic.Uint32
	shards [streamShards]streamShard
}

const streamShards = 16

type streamShard struct {
	mu     sync.Mutex // guards open and closed
	open   map[*io.PipeReader]struct{}
	closed bool
	_      [40]byte // a cache line of its own
}

// add registers pr, unless Close has begun; it returns pr's shard.
func (s *streams) add(pr *io.PipeReader) (*streamShard, bool) {
	sh := &s.shards[s.next.Add(1)%streamShards]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.closed {
		return nil, false
	}
	if sh.open == nil {
		sh.open = map[*io.PipeReader]struct{}{}
	}
	sh.open[pr] = struct{}{}
	return sh, true
}

// release forgets a finished body and fails its writer's pending and later
// writes with err.
func (sh *streamShard) release(pr *io.PipeReader, err error) {
	pr.CloseWithError(err)
	sh.mu.Lock()
	delete(sh.open, pr)
	sh.mu.Unlock()
}

// closeAll fails every open body and refuses new ones.
func (s *streams) closeAll() {
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		sh.closed = true
		for pr := range sh.open {
			pr.CloseWithError(ErrClosed)
		}
		sh.mu.Unlock()
	}
}

// serveStreamed serves req in a new goroutine and returns as soon as the
// handler has written its header; the body streams from the handler's
// writes. The caller has entered req (Transport.enter).
func (t *Transport) serveStreamed(h http.Handler, req *http.Request, g tag) (*http.Response, error) {
	pr, pw := io.Pipe()
	sh, ok := t.streams.add(pr)
	if !ok {
		t.wg.Done()
		closeBody(req)
		return nil, ErrClosed
	}
	// The handler's context ends with the client's, or when the client
	// closes the response body (as a server's does when the connection
	// goes away).
	ctx, cancel := context.WithCancel(req.Context())
	sreq := serverRequest(ctx, req, g)
	w := &responseWriter{header: http.Header{}, head: req.Method == http.MethodHead, pw: pw, ready: make(chan struct{})}
	go func() {
		defer t.wg.Done()
		defer closeBody(req) // RoundTrip owns the request body
		if err := serve(h, w, sreq); err != nil {
			// As net/http's server: the client sees the connection fail.
			w.fail(err)
			return
		}
		w.finish()
	}()

	select {
	case <-w.ready:
	case <-req.Context().Done():
		// The handler sees the same cancellation and returns; its goroutine
		// is still waited for by Close.
		sh.release(pr, ErrClosed)
		cancel()
		return nil, req.Context().Err()
	}
	if w.err != nil {
		sh.release(pr, w.err)
		cancel()
		return nil, w.err
	}
	resp := response(req, w.status, w.sent)
	resp.Body = &body{pr: pr, sh: sh, cancel: cancel}
	if noBody(req, w.status) {
		resp.Body.Close()
		resp.Body = http.NoBody
	}
	return resp, nil
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

// body is the client's side of a streamed response body; Close stops the
// handler's writes and cancels its context.
type body struct {
	pr     *io.PipeReader
	sh     *streamShard
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
	b.sh.release(b.pr, err)
	b.cancel()
}

// errBodyClosed is what a handler's write gets after the client closed the
// response body.
var errBodyClosed = errors.New("inproc: client closed the response body")
