package schedsim

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/stormsim/stormsim/coordinator/scheduler"
)

// table is what every strategy needs of the event store.
type table interface {
	scheduler.Store
	scheduler.Register
}

// env is one strategy's world: its clock, table, rule and tallies. The
// planned events are shared, read-only, between strategies.
type env struct {
	cfg      Config
	name     string
	ctx      context.Context
	clk      Clock
	virt     *Virtual // nil on the wall clock
	start    time.Time
	plan     []planned
	rule     *Rule
	schedule scheduleFunc
	feed     *feeder
	mail     *mailer // nil unless the events are e-mails

	// Virtual time spent inside the current handler invocation: its clock
	// reads clk.Now()+busy. Only the virtual run's single goroutine uses it.
	busy      time.Duration
	inHandler bool

	mu          sync.Mutex // guards the tallies below (wall runs are concurrent)
	runs        []int32
	fired       []int64       // first run, ns since start
	refused     []bool        // the insert failed on every attempt: never scheduled
	unrun       int           // planned events neither refused nor run yet
	allRan      chan struct{} // closed when unrun reaches 0
	retryUntil  time.Time     // wall runs: no insert retry starts after it
	hist        *hdrhistogram.Histogram
	sum, max    time.Duration
	early       int64
	errs        int64
	invocations int64
	empty       int64
}

// maxLateness bounds the histogram (µs); later runs are clamped into it.
const maxLateness = int64(30 * 24 * time.Hour / time.Microsecond)

func newEnv(ctx context.Context, cfg Config, name string, plan []planned, clk Clock, start time.Time) *env {
	e := &env{
		cfg: cfg, name: name, ctx: ctx, clk: clk, start: start, plan: plan,
		runs:    make([]int32, len(plan)),
		fired:   make([]int64, len(plan)),
		refused: make([]bool, len(plan)),
		unrun:   len(plan),
		allRan:  make(chan struct{}),
		hist:    hdrhistogram.New(1, maxLateness, 3),
	}
	e.noteAllRan() // an empty plan
	e.virt, _ = clk.(*Virtual)
	e.feed = &feeder{env: e}
	return e
}

// now is the clock a handler, the store and the effects see.
func (e *env) now() time.Time { return e.clk.Now().Add(e.busy) }

func (e *env) countError() {
	e.mu.Lock()
	e.errs++
	e.mu.Unlock()
}

// refuse records that event i's insert failed for good: it was never
// scheduled, so it cannot be missed. The caller holds e.mu.
func (e *env) refuse(i int) {
	if e.runs[i] == 0 { // else it was stored after all, and counted when it ran
		e.unrun--
		e.noteAllRan()
	}
	e.refused[i] = true
}

// noteAllRan closes allRan once every planned event was refused or has
// run (which implies every insert was attempted). The caller holds e.mu.
func (e *env) noteAllRan() {
	if e.unrun == 0 {
		close(e.allRan)
	}
}

// effect is the Runner: it records the run and spends the handler's time.
func (e *env) effect(_ context.Context, ev scheduler.Event) error {
	i, ok := index(ev.ID)
	if !ok || i >= len(e.plan) {
		return fmt.Errorf("run event: unknown id %q", ev.ID)
	}
	now := e.now()
	late := now.Sub(e.start.Add(time.Duration(e.plan[i].due)))
	e.mu.Lock()
	e.runs[i]++
	if late < 0 {
		e.early++
	}
	if e.runs[i] == 1 {
		e.fired[i] = now.Sub(e.start).Nanoseconds()
		if !e.refused[i] {
			e.unrun--
			e.noteAllRan()
		}
		if late >= 0 {
			e.sum += late
			e.max = max(e.max, late)
			_ = e.hist.RecordValue(min(max(late.Microseconds(), 1), maxLateness))
		}
	}
	e.mu.Unlock()
	if d := e.cfg.HandlerTimePerEvent; d > 0 {
		if e.virt != nil {
			e.busy += d
		} else {
			time.Sleep(d)
		}
	}
	return nil
}

// lambdaRetries are the delays before Lambda's two retries of a failed
// asynchronous invocation.
var lambdaRetries = []time.Duration{time.Minute, 2 * time.Minute}

// invoke adapts a strategy's Fire to a rule delivery and counts it. A failed
// invocation is retried the way Lambda retries an asynchronous one.
func (e *env) invoke(fire func(context.Context, time.Time) (scheduler.FireReport, error)) func(time.Time) {
	return e.invokeTry(fire, 0)
}

func (e *env) invokeTry(fire func(context.Context, time.Time) (scheduler.FireReport, error), try int) func(time.Time) {
	return func(at time.Time) {
		if e.virt != nil {
			e.busy, e.inHandler = 0, true
		}
		rep, err := fire(e.ctx, at)
		if e.virt != nil {
			e.busy, e.inHandler = 0, false
		}
		e.mu.Lock()
		e.invocations++
		if rep.Ran == 0 && rep.Failed == 0 {
			e.empty++
		}
		if err != nil {
			e.errs++
		}
		e.mu.Unlock()
		if err != nil && try < len(lambdaRetries) && e.ctx.Err() == nil {
			e.clk.AfterFunc(lambdaRetries[try]*e.cfg.Resolution/time.Minute, func() {
				e.invokeTry(fire, try+1)(e.clk.Now())
			})
		}
	}
}

// simStore charges StoreLatency of virtual time per call made inside a
// handler invocation, and lets inserts due meanwhile happen before the call.
type simStore struct {
	e *env
	s table
}

var (
	_ table           = (*simStore)(nil)
	_ scheduler.Stale = (*simStore)(nil)
)

func (w *simStore) step(ctx context.Context) {
	if w.e.inHandler && !w.e.feed.busy {
		w.e.busy += w.e.cfg.StoreLatency
		w.e.feed.catchUp(ctx, w.e.now())
	}
}

func (w *simStore) Staleness() time.Duration {
	if s, ok := w.s.(scheduler.Stale); ok {
		return s.Staleness()
	}
	return 0
}

func (w *simStore) Put(ctx context.Context, ev scheduler.Event) error {
	w.step(ctx)
	return w.s.Put(ctx, ev)
}

func (w *simStore) Due(ctx context.Context, now time.Time, limit int) ([]scheduler.Event, error) {
	w.step(ctx)
	return w.s.Due(ctx, now, limit)
}

func (w *simStore) Next(ctx context.Context) (time.Time, bool, error) {
	w.step(ctx)
	return w.s.Next(ctx)
}

func (w *simStore) MarkDone(ctx context.Context, id string) (bool, error) {
	w.step(ctx)
	return w.s.MarkDone(ctx, id)
}

func (w *simStore) ArmState(ctx context.Context) (scheduler.ArmState, error) {
	w.step(ctx)
	return w.s.ArmState(ctx)
}

func (w *simStore) NoteInsert(ctx context.Context, target, now, spent time.Time) (scheduler.ArmState, error) {
	w.step(ctx)
	return w.s.NoteInsert(ctx, target, now, spent)
}

func (w *simStore) SetTarget(ctx context.Context, version int64, target time.Time) (bool, error) {
	w.step(ctx)
	return w.s.SetTarget(ctx, version, target)
}

// meanDraw estimates a Dist's mean as the rule applies it (clamped to
// [0, limit) when limit > 0).
func meanDraw(d Dist, limit time.Duration, r *rand.Rand) time.Duration {
	if d == nil {
		return 0
	}
	const n = 100000
	var sum float64
	for range n {
		x := max(d(r), 0)
		if limit > 0 && x >= limit {
			x = limit - 1
		}
		sum += float64(x)
	}
	return time.Duration(sum / n)
}
