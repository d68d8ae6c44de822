package inproc

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"sync"
)

// The inline way (Route.Inline): the handler runs in the caller's
// goroutine and its reply is buffered. A request that waits inside the
// server (for the fake's lock, for a full event queue) then holds only its
// caller's goroutine, as a request on a TCP connection holds only the
// client's; at 100,000 uploads in flight the handler goroutines were
// 0.7 goroutine per upload.

// serveInline serves req in the caller's goroutine and returns the whole
// reply. The caller has entered req (Transport.enter).
func (t *Transport) serveInline(h http.Handler, req *http.Request, g tag) (*http.Response, error) {
	defer t.wg.Done()
	defer closeBody(req) // RoundTrip owns the request body
	// As a server's, the handler's context ends when the exchange does.
	ctx, cancel := context.WithCancel(req.Context())
	defer cancel()
	w := &bufferedWriter{header: http.Header{}, head: req.Method == http.MethodHead}
	if err := serve(h, w, serverRequest(ctx, req, g)); err != nil {
		w.release()
		return nil, err
	}
	if err := req.Context().Err(); err != nil {
		// The client gave up before the reply was complete.
		w.release()
		return nil, err
	}
	if w.sent == nil {
		w.WriteHeader(http.StatusOK)
	}
	resp := response(req, w.status, w.sent)
	if noBody(req, w.status) || w.buf == nil || w.buf.Len() == 0 {
		w.release()
		if resp.ContentLength < 0 {
			resp.ContentLength = 0
		}
		resp.Body = http.NoBody
		return resp, nil
	}
	if resp.ContentLength < 0 {
		// What a server does for a reply that fit its buffer.
		resp.ContentLength = int64(w.buf.Len())
	}
	resp.Body = &bufferedBody{buf: w.buf}
	return resp, nil
}

// bufferedWriter keeps a handler's reply: the header as it was when
// written, and the body in a pooled buffer.
type bufferedWriter struct {
	header http.Header
	head   bool // a HEAD request: writes are discarded, as a server does
	status int
	sent   http.Header
	buf    *bytes.Buffer // nil until the first byte
}

// Header is the reply's header until it is written; after that, a map of
// its own whose changes go nowhere, as a server ignores them.
func (w *bufferedWriter) Header() http.Header {
	if w.header == nil {
		w.header = http.Header{}
	}
	return w.header
}

// WriteHeader fixes the reply's status and header. The header map itself
// becomes the reply's (the client sees it only after the handler has
// returned); a handler that keeps changing the map it got from Header
// before this call changes the reply, which no handler here does.
func (w *bufferedWriter) WriteHeader(code int) {
	if w.sent != nil || code < 200 {
		return // informational responses (100 Continue) are not forwarded
	}
	w.status, w.sent, w.header = code, w.Header(), nil
}

func (w *bufferedWriter) Write(p []byte) (int, error) {
	if w.sent == nil {
		w.WriteHeader(http.StatusOK)
	}
	if w.head || len(p) == 0 {
		return len(p), nil
	}
	if w.buf == nil {
		w.buf = replyBufs.Get().(*bytes.Buffer)
	}
	return w.buf.Write(p)
}

// Flush is a no-op beyond sending the header: the reply goes to the
// client when the handler returns.
func (w *bufferedWriter) Flush() {
	if w.sent == nil {
		w.WriteHeader(http.StatusOK)
	}
}

// release returns the buffer of a reply that goes nowhere.
func (w *bufferedWriter) release() {
	if w.buf != nil {
		putReplyBuf(w.buf)
		w.buf = nil
	}
}

// bufferedBody is the client's side of a buffered reply; Close returns
// the buffer to the pool.
type bufferedBody struct {
	mu  sync.Mutex // guards buf: Close may race a Read, as on a real body
	buf *bytes.Buffer
}

func (b *bufferedBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf == nil {
		return 0, errReadAfterClose
	}
	return b.buf.Read(p)
}

func (b *bufferedBody) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf != nil {
		putReplyBuf(b.buf)
		b.buf = nil
	}
	return nil
}

// errReadAfterClose is a read of a buffered reply's body after Close, as
// net/http reports it.
var errReadAfterClose = errors.New("http: read on closed response body")

// replyBufs recycle the buffers of inline replies.
var replyBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// putReplyBuf pools buf unless a large reply grew it.
func putReplyBuf(buf *bytes.Buffer) {
	if buf.Cap() > 64<<10 {
		return
	}
	buf.Reset()
	replyBufs.Put(buf)
}
