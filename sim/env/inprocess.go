package env

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"syscall"
	"time"

	"github.com/stormsim/stormsim/internal/inproc"
)

// In-process transports for the embedded fakes. A run's clients (the
// coordinator's SDK client, the devices' presigned PUTs and polls, the
// result API's SDK client, go-redis) reach gofakes3, the result API and
// miniredis without loopback TCP: the fakes' servers still listen (for
// outside processes and tools), but the bytes of the run's own requests go
// through internal/inproc. The clients and protocols are the real ones.

// requestTimeout bounds one request of the run's own clients, as
// http.Client.Timeout does over the network.
const requestTimeout = 5 * time.Minute

// inprocHTTP returns a client whose requests to the embedded servers are
// served in process (other hosts go over the network), tagged with tag
// (ClientHeader).
// The timeout is the request context's deadline, not http.Client.Timeout:
// for a RoundTripper that is not net/http's own, Client.Timeout costs a
// goroutine per request (net/http's setRequestCancel), which at 100,000
// uploads in flight was a third of the process's goroutines.
func (e *Env) inprocHTTP(tag string) *http.Client {
	// The tag goes onto the copy of each request the fake's handler gets
	// (a copy of every request's header of its own was 5 KiB per upload).
	return &http.Client{Transport: deadlineTransport{next: e.inproc.WithHeader(ClientHeader, tag), timeout: requestTimeout}}
}

// deadlineTransport gives each request a deadline timeout from now,
// released when the response body is closed or the request fails.
type deadlineTransport struct {
	next    http.RoundTripper
	timeout time.Duration
}

func (t deadlineTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithTimeout(req.Context(), t.timeout)
	resp, err := t.next.RoundTrip(req.WithContext(ctx))
	if err != nil {
		cancel()
		return nil, err
	}
	resp.Body = cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

// cancelOnClose releases a request's deadline when its body is closed.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b cancelOnClose) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// ServeInProcess routes the run's requests for host (as in its URLs) to h
// in process; a no-op on an environment without in-process transports. h
// runs in the caller's goroutine and its replies are buffered: it is for
// APIs with small replies (the result API).
func (e *Env) ServeInProcess(host string, h http.Handler) {
	if e.inproc != nil {
		e.inproc.Route(host, inproc.Route{Handler: h, Inline: true})
	}
}

// isGet picks the requests to the fake S3 whose replies stream: object
// GETs (and listings) can be large.
func isGet(req *http.Request) bool { return req.Method == http.MethodGet }

// dialRedis is go-redis's dialer for the embedded miniredis: one end of an
// in-memory connection, the other served by miniredis. While the fault
// injection has Redis down (StopRedis), dials are refused, as a closed
// port refuses them.
func (e *Env) dialRedis(ctx context.Context, _, _ string) (net.Conn, error) {
	e.redisMu.Lock()
	defer e.redisMu.Unlock()
	if e.redisDown || e.MR == nil {
		return nil, &net.OpError{Op: "dial", Net: "inproc", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// Server is read under redisMu: only StopRedis and RestartRedis, which
	// hold it too, replace miniredis's server.
	srv := e.MR.Server()
	if srv == nil {
		return nil, &net.OpError{Op: "dial", Net: "inproc", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	}
	client, server := inproc.Pipe()
	srv.ServeConn(server)
	return client, nil
}

// StopRedis closes the embedded Redis (connections drop, dials are
// refused; the data stays).
func (e *Env) StopRedis() {
	e.redisMu.Lock()
	defer e.redisMu.Unlock()
	e.redisDown = true
	e.MR.Close()
}

// RestartRedis brings the embedded Redis back on its address with its data.
func (e *Env) RestartRedis() error {
	e.redisMu.Lock()
	defer e.redisMu.Unlock()
	if err := e.MR.Restart(); err != nil {
		return err
	}
	if e.luaCache != nil {
		// The restarted miniredis is a new server: put the script cache
		// in front of it again.
		if err := e.luaCache.Reattach(); err != nil {
			return err
		}
	}
	e.redisDown = false
	return nil
}

// JumpRedisClock moves the embedded Redis's clock forward by d at once
// (every TTL ages by d).
func (e *Env) JumpRedisClock(d time.Duration) { e.MR.FastForward(d) }

// MaxClockStep is the longest step the embedded Redis clock was advanced
// by: FastForward charges a step to every key, including keys set during
// it, so a TTL can run out up to one step early.
func (e *Env) MaxClockStep() time.Duration { return time.Duration(e.maxClockStep.Load()) }
