package env

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"sync"
	"time"

	"github.com/stormsim/stormsim/coordinator"
	"github.com/stormsim/stormsim/internal/syncx"
	"github.com/stormsim/stormsim/sim/delivery"
)

// ServiceOptions configure StartService.
type ServiceOptions struct {
	// S3Addr and APIAddr are listen addresses ("" = a free loopback port,
	// ":PORT" = loopback; name a host to listen elsewhere).
	S3Addr, APIAddr string
	Bucket          string               // default "stormsim"
	Strategy        coordinator.Strategy // default redis-lock
	Concurrency     int                  // handler workers (default 16)
	// Secret signs the bearer tokens; required.
	Secret []byte
}

// Service is the embedded stack as a long-running local service for people
// building clients: the fake S3 endpoint (uploads to its staging area are
// handled as S3 would notify them), the coordinator, the result API
// (GET /v1/uploads/{id}) and pushes as Server-Sent Events (GET /v1/events),
// both with per-user bearer tokens.
type Service struct {
	S3URL  string // the S3 endpoint (path-style; any credentials)
	APIURL string // base URL of the result API and the event stream
	Bucket string
	Tokens coordinator.Tokens

	env      *Env
	delivery *delivery.Delivery
	stopAPI  func()
	stopped  chan struct{} // closed by Close
	once     sync.Once
}

// StartService starts the stack; Close stops it.
func StartService(ctx context.Context, o ServiceOptions) (_ *Service, err error) {
	if len(o.Secret) == 0 {
		return nil, errors.New("start service: no token secret")
	}
	if o.Bucket == "" {
		o.Bucket = "stormsim"
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 16
	}
	s := &Service{Bucket: o.Bucket, Tokens: coordinator.Tokens{Secret: o.Secret}, stopped: make(chan struct{})}
	e := &Env{Bucket: o.Bucket, stopTick: make(chan struct{})}
	s.env = e
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	if err := startMiniredis(e, time.Now, 64); err != nil {
		return nil, err
	}
	// Notifications wait until the handler exists: the fake S3 serves
	// before its clients (and so the coordinator) can be made.
	ready := make(chan struct{})
	notify := func(key string, size int64) {
		select {
		case <-ready:
			s.delivery.Emit(o.Bucket, key, size, time.Now())
		case <-s.stopped: // failed to start, or stopping
		}
	}
	if err := startFakeS3(ctx, e, o.S3Addr, notify); err != nil {
		return nil, err
	}
	cfg := coordinator.Config{Bucket: o.Bucket, Strategy: o.Strategy, Prefix: "stormsim:", Now: time.Now}
	// The handler and the API get their own S3 connection pools, as in a
	// run.
	coord, err := coordinator.New(cfg, e.S3, e.Redis)
	if err != nil {
		return nil, err
	}
	s.delivery = delivery.New(delivery.Config{Workers: o.Concurrency, Retries: 2}, coord.HandleEvent)
	close(ready)
	api, err := coordinator.New(cfg, e.APIS3, e.Redis)
	if err != nil {
		return nil, err
	}
	s.S3URL = e.S3URL
	mux := http.NewServeMux()
	mux.Handle("/v1/uploads/", api.API(s.Tokens))
	mux.Handle("/v1/events", api.Events(s.Tokens))
	ln, err := coordinator.Listen(o.APIAddr)
	if err != nil {
		return nil, fmt.Errorf("listen for the result API: %w", err)
	}
	srv := coordinator.NewServer(mux)
	apiSrv := syncx.Serve(srv, ln)
	s.stopAPI = func() {
		if err := apiSrv.Close(); err != nil {
			log.Printf("service: %v", err)
		}
	}
	s.APIURL = "http://" + ln.Addr().String()
	return s, nil
}

// Pending is the number of notifications not yet handled.
func (s *Service) Pending() int64 { return s.delivery.Pending() }

// Stats are the delivery's counters.
func (s *Service) Stats() delivery.Counts { return s.delivery.Counts() }

// Close stops the service; it is idempotent.
func (s *Service) Close() {
	s.once.Do(func() { close(s.stopped) })
	if s.stopAPI != nil {
		s.stopAPI()
	}
	if s.delivery != nil {
		s.delivery.Close()
	}
	s.env.Close()
}
