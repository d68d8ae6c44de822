package inproc

import (
	"io"
	"net"
	"os"
	"sync"
	"time"
)

// PipeBuffer is how many bytes each direction of a Pipe holds before a
// writer waits for the reader. net.Pipe holds none: a Redis server that
// answers the first command of a long pipeline while the client is still
// writing the rest would wait for the client and the client for it. A
// loopback TCP socket buffers megabytes; this does the same, so pipelines
// behave as they do over TCP, and it is still bounded.
const PipeBuffer = 4 << 20

// Pipe returns the two ends of a buffered, full-duplex, in-memory
// connection with deadlines. Closing one end makes the other read EOF
// (after what was already written); its writes are then discarded, as a
// TCP socket's are until the peer's reset arrives.
func Pipe() (net.Conn, net.Conn) {
	a, b := newHalf(), newHalf()
	return &conn{rd: a, wr: b, done: make(chan struct{}), rdl: newDeadline(), wdl: newDeadline()},
		&conn{rd: b, wr: a, done: make(chan struct{}), rdl: newDeadline(), wdl: newDeadline()}
}

// half is one direction: bytes written by one end, read by the other.
type half struct {
	mu     sync.Mutex // guards buf, off, closed
	buf    []byte
	off    int  // read position in buf
	closed bool // the writing end closed: EOF after buf

	readable chan struct{} // a token when bytes arrived or the writer closed
	writable chan struct{} // a token when bytes were read or the reader closed
	gone     bool          // the reading end closed: writes fail
}

func newHalf() *half {
	return &half{readable: make(chan struct{}, 1), writable: make(chan struct{}, 1)}
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

type conn struct {
	rd, wr   *half
	rdl, wdl *deadline
	done     chan struct{}
	once     sync.Once
}

var _ net.Conn = (*conn)(nil)

func (c *conn) Read(p []byte) (int, error) {
	for {
		if isClosed(c.rdl.wait()) {
			return 0, os.ErrDeadlineExceeded
		}
		h := c.rd
		h.mu.Lock()
		if n := len(h.buf) - h.off; n > 0 && len(p) > 0 {
			k := copy(p, h.buf[h.off:])
			h.off += k
			if h.off == len(h.buf) {
				h.off = 0
				h.buf = h.buf[:0]
				if cap(h.buf) > 64<<10 {
					h.buf = nil // do not keep a burst's buffer
				}
			}
			h.mu.Unlock()
			signal(h.writable)
			return k, nil
		}
		eof := h.closed
		h.mu.Unlock()
		select {
		case <-c.done:
			return 0, net.ErrClosed
		default:
		}
		if eof {
			return 0, io.EOF
		}
		if len(p) == 0 {
			return 0, nil
		}
		select {
		case <-h.readable:
		case <-c.done:
			return 0, net.ErrClosed
		case <-c.rdl.wait():
			return 0, os.ErrDeadlineExceeded
		}
	}
}

func (c *conn) Write(p []byte) (int, error) {
	written := 0
	for {
		select {
		case <-c.done:
			return written, net.ErrClosed
		default:
		}
		if isClosed(c.wdl.wait()) {
			return written, os.ErrDeadlineExceeded
		}
		h := c.wr
		h.mu.Lock()
		if h.gone {
			// The peer closed. TCP takes the bytes into the socket's buffer
			// after the peer's FIN and fails only later; the caller learns
			// of the close from its next read (EOF). Clients rely on that:
			// go-redis retries a command whose reply reads EOF, not one
			// whose write failed.
			h.mu.Unlock()
			return written + len(p), nil
		}
		if len(p) == 0 {
			h.mu.Unlock()
			return written, nil
		}
		if h.off > 0 && len(h.buf)+len(p) > cap(h.buf) {
			// Reuse the space already read.
			n := copy(h.buf, h.buf[h.off:])
			h.buf, h.off = h.buf[:n], 0
		}
		if space := PipeBuffer - (len(h.buf) - h.off); space > 0 {
			k := min(space, len(p))
			h.buf = append(h.buf, p[:k]...)
			h.mu.Unlock()
			signal(h.readable)
			written += k
			p = p[k:]
			continue
		}
		h.mu.Unlock()
		select {
		case <-h.writable:
		case <-c.done:
			return written, net.ErrClosed
		case <-c.wdl.wait():
			return written, os.ErrDeadlineExceeded
		}
	}
}

// Close ends both directions for this end: the peer reads EOF after the
// bytes already written, and its writes fail.
func (c *conn) Close() error {
	c.once.Do(func() {
		close(c.done)
		c.wr.mu.Lock()
		c.wr.closed = true
		c.wr.mu.Unlock()
		signal(c.wr.readable)
		c.rd.mu.Lock()
		c.rd.gone, c.rd.buf, c.rd.off = true, nil, 0
		c.rd.mu.Unlock()
		signal(c.rd.writable)
	})
	return nil
}

func (c *conn) LocalAddr() net.Addr  { return addr{} }
func (c *conn) RemoteAddr() net.Addr { return addr{} }

func (c *conn) SetDeadline(t time.Time) error {
	c.rdl.set(t)
	c.wdl.set(t)
	return nil
}
func (c *conn) SetReadDeadline(t time.Time) error  { c.rdl.set(t); return nil }
func (c *conn) SetWriteDeadline(t time.Time) error { c.wdl.set(t); return nil }

type addr struct{}

func (addr) Network() string { return "inproc" }
func (addr) String() string  { return "inproc" }

// deadline is a settable deadline whose channel closes when it passes (the
// design of net.Pipe's). One timer serves every arming: go-redis sets a
// read and a write deadline around each command, and a new timer per call
// cost allocations on every Redis command.
type deadline struct {
	mu     sync.Mutex // guards the fields below
	timer  *time.Timer
	at     time.Time     // when the armed deadline passes; zero: disarmed
	cancel chan struct{} // closed when the deadline passed
}

func newDeadline() *deadline { return &deadline{cancel: make(chan struct{})} }

// set arms the deadline at t; the zero time disarms it.
func (d *deadline) set(t time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.timer != nil {
		d.timer.Stop()
	}
	d.at = time.Time{}
	if isClosed(d.cancel) {
		d.cancel = make(chan struct{})
	}
	if t.IsZero() {
		return
	}
	dur := time.Until(t)
	if dur <= 0 {
		close(d.cancel) // already past
		return
	}
	d.at = t
	if d.timer == nil {
		d.timer = time.AfterFunc(dur, d.fire)
	} else {
		d.timer.Reset(dur)
	}
}

// fire closes the channel when the armed deadline has passed. A call left
// over from an earlier arming (Stop cannot recall a func already started)
// finds the deadline disarmed, or not yet passed and re-armed.
func (d *deadline) fire() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.at.IsZero() {
		return
	}
	if left := time.Until(d.at); left > 0 {
		// Early by the wall clock (a deadline without a monotonic
		// reading), or a leftover call: wait out the rest.
		d.timer.Reset(left)
		return
	}
	d.at = time.Time{}
	close(d.cancel)
}

func (d *deadline) wait() chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cancel
}

func isClosed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}
