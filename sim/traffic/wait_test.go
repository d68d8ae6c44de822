package traffic

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stormsim/stormsim/coordinator"
	"github.com/stormsim/stormsim/internal/inproc"
	"github.com/stormsim/stormsim/sim/env"
	"github.com/stormsim/stormsim/sim/history"
)

// finishSink keeps what the waiter records.
type finishSink struct {
	discardSink
	mu    sync.Mutex
	polls int
	u     history.Upload
	kind  string
}

func (s *finishSink) Polled(history.Poll, error) { s.mu.Lock(); s.polls++; s.mu.Unlock() }
func (s *finishSink) Finished(u *history.Upload, _ time.Time, kind string) {
	s.mu.Lock()
	s.u, s.kind = *u, kind
	s.mu.Unlock()
}

// TestWaiter_Await_Outcomes drives one staged upload's wait: pushes and
// polls racing, the timeout and a stopped run, on a fake clock.
func TestWaiter_Await_Outcomes(t *testing.T) {
	committed := coordinator.Result{ID: "up-1", User: "u1", State: coordinator.StateCommitted, Version: 3}
	pending := coordinator.Result{ID: "up-1", State: coordinator.StatePending}
	tests := []struct {
		name string
		// api answers the n-th poll (from 1); push, when set, runs once the
		// wait has begun (or before it, with early).
		api      func(n int, push func()) coordinator.Result
		push     bool // a push arrives at 2.5s
		early    bool // the push arrives before the wait begins (during staging)
		cancelAt time.Duration
		want     history.Outcome
		wantPush bool
		polls    int
		kind     string
	}{
		{name: "poll decides", api: func(int, func()) coordinator.Result { return committed },
			want: history.OutcomeCommitted, polls: 1},
		{name: "push while idle", api: func(int, func()) coordinator.Result { return pending }, push: true,
			want: history.OutcomeCommitted, wantPush: true, polls: 2},
		{name: "push during staging", api: func(int, func()) coordinator.Result { return pending }, push: true, early: true,
			want: history.OutcomeCommitted, wantPush: true, polls: 0},
		{name: "push during a pending poll wins after it", api: func(n int, push func()) coordinator.Result {
			if n == 1 {
				push()
			}
			return pending
		}, want: history.OutcomeCommitted, wantPush: true, polls: 1},
		{name: "poll deciding while a push waits wins", api: func(n int, push func()) coordinator.Result {
			push()
			return coordinator.Result{ID: "up-1", State: coordinator.StateConflict, Copy: "c"}
		}, want: history.OutcomeConflict, polls: 1},
		{name: "timeout", api: func(int, func()) coordinator.Result { return pending },
			want: history.OutcomeUnknown, polls: 5, kind: "timeout"},
		{name: "stopped", api: func(int, func()) coordinator.Result { return pending }, cancelAt: 2500 * time.Millisecond,
			want: history.OutcomeUnknown, polls: 2, kind: "stopped"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				sink := &finishSink{}
				hub := &PushHub{waiters: map[string]pushTarget{}}
				push := func() { hub.hand(committed) }
				n := 0
				tr := &inproc.Transport{}
				tr.Route("api.test", inproc.Route{Inline: true, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					n++
					_ = json.NewEncoder(w).Encode(tt.api(n, push))
				})})
				defer tr.Close()
				dev := &Devices{Env: &env.Env{HTTP: &http.Client{Transport: tr}}, API: "http://api.test", Push: hub,
					Tokens: coordinator.Tokens{Secret: []byte("s")}, Sink: sink, Now: time.Now,
					cfg: config{push: true, firstDelay: time.Second, pollInterval: time.Second, maxInterval: time.Second,
						backoff: 1, pollTimeout: 5500 * time.Millisecond},
					heads: newHeads(1), est: newEstimator()}
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				ended := make(chan struct{})
				w := &waiter{dev: dev, ctx: ctx, end: func() { close(ended) }}
				w.u = history.Upload{ID: "up-1", User: "u1", Staged: time.Now()}
				hub.wait("up-1", w)
				if tt.early {
					push()
				}
				w.await()
				if tt.push && !tt.early {
					time.AfterFunc(2500*time.Millisecond, push)
				}
				if tt.cancelAt > 0 {
					time.AfterFunc(tt.cancelAt, cancel)
				}
				<-ended
				synctest.Wait()
				sink.mu.Lock()
				defer sink.mu.Unlock()
				if sink.u.Outcome != tt.want || sink.u.Push != tt.wantPush || sink.u.Polls != tt.polls || sink.polls != tt.polls || sink.kind != tt.kind {
					t.Errorf("outcome %s push %v polls %d (%d recorded) kind %q, want %s %v %d %q",
						sink.u.Outcome, sink.u.Push, sink.u.Polls, sink.polls, sink.kind, tt.want, tt.wantPush, tt.polls, tt.kind)
				}
				if len(hub.waiters) != 0 {
					t.Error("the hub still holds the upload's waiter")
				}
			})
		})
	}
}
