package fault

import (
	"context"
	"fmt"
	"log"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/stormsim/stormsim/coordinator"
	"github.com/stormsim/stormsim/scenarios"
	"github.com/stormsim/stormsim/sim/delivery"
	"github.com/stormsim/stormsim/sim/history"
	"github.com/stormsim/stormsim/sim/measure"
)

// begin starts the timeline: each window switches on at origin+start and
// off at origin+end.
func (f *Set) Begin(origin time.Time) {
	type edge struct {
		at time.Time
		i  int
		on bool
	}
	var edges []edge
	for i, s := range f.specs {
		if f.skip[i] != "" {
			continue
		}
		edges = append(edges, edge{origin.Add(s.Start), i, true})
		if s.End > 0 {
			edges = append(edges, edge{origin.Add(s.End), i, false})
		}
	}
	// Stable: at equal instants, switch off before on, in file order.
	sort.SliceStable(edges, func(a, b int) bool {
		return edges[a].at.Before(edges[b].at) || edges[a].at.Equal(edges[b].at) && !edges[a].on && edges[b].on
	})
	f.mu.Lock()
	f.origin = origin
	f.mu.Unlock()
	// Windows from the start are on before the first arrival.
	for len(edges) > 0 && !edges[0].at.After(origin) {
		f.on(edges[0].i)
		edges = edges[1:]
	}
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		t := time.NewTimer(time.Hour)
		defer t.Stop()
		for _, e := range edges {
			t.Reset(max(time.Until(e.at), 0))
			select {
			case <-f.stop:
				return
			case <-t.C:
			}
			if e.on {
				f.on(e.i)
			} else {
				f.off(e.i)
			}
		}
	}()
}

// on starts window i and does what happens at its start.
func (f *Set) on(i int) {
	s := &f.specs[i]
	f.mu.Lock()
	if f.lifted || !f.from[i].IsZero() {
		f.mu.Unlock()
		return
	}
	f.from[i] = f.now()
	outage := s.Kind == RedisOutage && f.outages == 0
	if s.Kind == RedisOutage {
		f.outages++
	}
	f.mu.Unlock()
	switch s.Kind {
	case RedisOutage:
		if outage {
			quietRedisDials()
			f.target.Server.StopRedis() // connections refused; the data stays
		}
		f.injected[i].Add(1)
	case RedisLockLoss:
		f.loseLocks(context.Background())
		f.injected[i].Add(1)
	case RedisClockJump:
		f.target.Server.JumpRedisClock(s.Jump)
		f.injected[i].Add(1)
	}
	f.active[i].Store(true)
	if s.Kind == RedisClockJump && s.End == 0 {
		f.off(i) // an instant: the jump has happened
	}
}

// off ends window i, undoes what needs undoing and records the window.
func (f *Set) off(i int) {
	s := &f.specs[i]
	f.active[i].Store(false)
	f.mu.Lock()
	from := f.from[i]
	if from.IsZero() || f.done[i] {
		f.mu.Unlock()
		return
	}
	f.done[i] = true
	to := f.now()
	restart := false
	if s.Kind == RedisOutage {
		f.outages--
		restart = f.outages == 0
	}
	f.mu.Unlock()
	detail := faultDetail(s)
	if restart {
		// Back on the same address with its data. A port taken meanwhile
		// would leave Redis down: retry briefly, then say so.
		var err error
		for try := 0; try < 50; try++ {
			if err = f.target.Server.RestartRedis(); err == nil {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if err != nil {
			detail += fmt.Sprintf(" (restart failed: %v)", err)
		}
	}
	f.mu.Lock()
	f.spans = append(f.spans, measure.FaultSpan{Kind: s.Kind, From: from.Sub(f.origin), To: to.Sub(f.origin), Detail: detail})
	f.spanIdx = append(f.spanIdx, i)
	f.mu.Unlock()
	if f.record != nil {
		f.record(history.Fault{T: history.KindFault, Kind: s.Kind, From: from, To: to})
	}
}

// Hooks composes the coordinator hooks of a mutant (may be nil) with
// the faults'.
// A mutant's Script and Disabled hooks are kept.
func (f *Set) Hooks(prev *coordinator.Hooks) *coordinator.Hooks {
	h := &coordinator.Hooks{}
	if prev != nil {
		*h = *prev
	}
	h.Step = func(ctx context.Context, id, step string) error {
		if prev != nil && prev.Step != nil {
			if err := prev.Step(ctx, id, step); err != nil {
				return err
			}
		}
		return f.step(ctx, id, step)
	}
	return h
}

// startReconciler sweeps the staging area every reconcileEvery for objects
// older than reconcileAge until the drain begins: events that an event-drop
// lost, or that failed through Lambda's retries (an outage, crashes), are
// handled this way. Each pass holds the delivery, so a drain that begins
// meanwhile waits for it.
func (f *Set) StartReconciler(d *delivery.Delivery) {
	ctx, cancel := context.WithCancel(context.Background())
	f.cancel = cancel
	f.sweeps.Add(1)
	go func() {
		defer f.sweeps.Done()
		t := time.NewTicker(reconcileEvery)
		defer t.Stop()
		for {
			select {
			case <-f.stop:
				return
			case <-t.C:
			}
			release := d.Hold()
			_, _ = f.Reconcile(ctx, reconcileAge)
			release()
		}
	}()
}

// reconcile runs one sweep and counts what it handled. Its errors (S3 or
// Redis still failing) are the next sweep's to retry.
func (f *Set) Reconcile(ctx context.Context, olderThan time.Duration) (int, error) {
	n, err := f.coord.Reconcile(ctx, olderThan)
	f.reconciled.Add(int64(n))
	return n, err
}

// close lifts the faults if the drain did not, and stops the reconciler.
// It is idempotent.
func (f *Set) Close() {
	f.closeOnce.Do(func() {
		f.Lift(time.Time{})
		if f.cancel != nil {
			f.cancel()
		}
		f.sweeps.Wait()
	})
}

// lift ends every active window (the drain has begun), stops the timeline
// and returns the windows as injected, relative to start.
func (f *Set) Lift(start time.Time) []measure.FaultSpan {
	f.mu.Lock()
	already := f.lifted
	f.lifted = true
	f.mu.Unlock()
	if !already {
		close(f.stop)
		f.wg.Wait()
		for i := range f.specs {
			f.off(i)
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]measure.FaultSpan, len(f.spans))
	shift := start.Sub(f.origin)
	for k, sp := range f.spans {
		sp.From, sp.To = max(sp.From-shift, 0), max(sp.To-shift, 0)
		sp.Injected = f.injected[f.spanIdx[k]].Load()
		sp.Detail += f.evidenceDetail(f.spanIdx[k])
		out[k] = sp
	}
	for i, why := range f.skip {
		if why != "" {
			s := &f.specs[i]
			out = append(out, measure.FaultSpan{Kind: s.Kind, From: s.Start, To: s.Start, Detail: "skipped: " + why})
		}
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].From < out[b].From })
	return out
}

// quietRedisDials keeps go-redis from logging every refused dial during an
// outage (hundreds of lines a second); other messages still go to the
// standard logger. go-redis has one process-wide logger.
var quietRedisDials = sync.OnceFunc(func() {
	redis.SetLogger(redisDialFilter{})
})

type redisDialFilter struct{}

func (redisDialFilter) Printf(_ context.Context, format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	if strings.Contains(msg, "failed to dial") || strings.Contains(msg, "connection refused") {
		return
	}
	log.Print("redis: " + msg)
}

func faultDetail(s *scenarios.Fault) string {
	d := ""
	if s.Probability < 1 {
		d += fmt.Sprintf(" p=%g", s.Probability)
	}
	switch s.Kind {
	case S3Error:
		d += fmt.Sprintf(" code=%d", s.Code)
	case S3Latency, RedisLatency, HandlerPause, EventDelay:
		d += " latency=" + s.Latency.String()
		if s.Step != "" {
			d += " step=" + s.Step
		}
	case HandlerCrash:
		d += " step=" + s.Step
	case RedisLockExpiry, RedisFenceRollback:
		d += " step=" + s.Step + " latency=" + s.Latency.String()
	case RedisClockJump:
		d += " jump=" + s.Jump.String()
	}
	if len(d) > 0 {
		d = d[1:]
	}
	return d
}
