// Package syncx holds the small concurrency helpers the harness shares:
// running work on a bounded number of goroutines, sleeping with a context,
// and serving an HTTP server with an owner that waits for it.
package syncx

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Parallel runs f(0..n-1) on at most width goroutines and waits. A
// cancelled ctx stops handing out indexes; calls in progress finish.
func Parallel(ctx context.Context, n, width int, f func(i int)) {
	var wg sync.WaitGroup
	next := atomic.Int64{}
	for range min(width, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				f(i)
			}
		}()
	}
	wg.Wait()
}

// Sleep waits for d or until ctx ends, whichever comes first; it returns
// ctx.Err() when ctx ended first.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Server is an HTTP server serving in its own goroutine; Close stops it
// and waits for that goroutine.
type Server struct {
	srv  *http.Server
	done chan struct{}
	err  error // Serve's error, other than http.ErrServerClosed; read after done
	once sync.Once
}

// Serve starts srv on ln in a goroutine that the returned Server owns.
func Serve(srv *http.Server, ln net.Listener) *Server {
	s := &Server{srv: srv, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.err = fmt.Errorf("serve %s: %w", ln.Addr(), err)
		}
	}()
	return s
}

// Close closes the server (its listener and connections), waits for
// Serve to return and reports how it ended: nil when Close stopped it.
// It is idempotent.
func (s *Server) Close() error {
	s.once.Do(func() { _ = s.srv.Close() })
	<-s.done
	return s.err
}
