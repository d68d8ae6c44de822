package scheduler_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stormsim/stormsim/coordinator/scheduler"
)

// recRule records Arm calls; the rule is armed to the last one.
type recRule struct {
	mu      sync.Mutex
	target  time.Time
	pending bool // armed and not fired since
	updates int
}

func (r *recRule) Arm(_ context.Context, m time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.target, r.pending = m, !m.IsZero()
	r.updates++
	return nil
}

// take returns the armed minute and marks it fired.
func (r *recRule) take() (time.Time, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ok := r.pending
	r.pending = false
	return r.target, ok
}

// effects counts effect runs per event and the first run's time.
type effects struct {
	mu    sync.Mutex
	now   func() time.Time
	runs  map[string]int
	first map[string]time.Time
	early int
}

func newEffects(now func() time.Time) *effects {
	return &effects{now: now, runs: map[string]int{}, first: map[string]time.Time{}}
}

func (e *effects) run(_ context.Context, ev scheduler.Event) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.now()
	if now.Before(ev.Due) {
		e.early++
	}
	if e.runs[ev.ID] == 0 {
		e.first[ev.ID] = now
	}
	e.runs[ev.ID]++
	return nil
}

// hooked wraps a table and calls a hook once, at a chosen point.
type hooked struct {
	table
	point string // "due" (while draining) or "next" (after the table read)
	once  sync.Once
	hook  func()
}

func (s *hooked) Due(ctx context.Context, now time.Time, limit int) ([]scheduler.Event, error) {
	evs, err := s.table.Due(ctx, now, limit)
	if s.point == "due" {
		s.once.Do(s.hook)
	}
	return evs, err
}

func (s *hooked) Next(ctx context.Context) (time.Time, bool, error) {
	due, ok, err := s.table.Next(ctx)
	if s.point == "next" {
		s.once.Do(s.hook)
	}
	return due, ok, err
}

func TestHandler_Fire_InsertWhileRunning(t *testing.T) {
	tests := []struct {
		name     string
		point    string
		later    bool // another event pending 10 minutes out
		mutant   *scheduler.Hooks
		wantLost bool // the mutant loses (or delays) E
	}{
		{"during drain, empty table", "due", false, nil, false},
		{"after next read, empty table", "next", false, nil, false},
		{"after next read, later event armed", "next", true, nil, false},
		{"mutant: after next read, empty table", "next", false, loseInserts, true},
		{"mutant: after next read, later event", "next", true, loseInserts, true},
	}
	ctx := context.Background()
	for _, st := range stores {
		for _, tc := range tests {
			t.Run(st.name+"/"+tc.name, func(t *testing.T) {
				clk := &manualClock{t: t0.Add(-5 * time.Minute)}
				hs := &hooked{table: st.new(t, clk.Now), point: tc.point}
				rule := &recRule{}
				fx := newEffects(clk.Now)
				h, err := scheduler.New(scheduler.Options{
					Store: hs, Rule: rule, Run: fx.run, Now: clk.Now, Hooks: tc.mutant,
				})
				if err != nil {
					t.Fatal(err)
				}
				must(t, h.Schedule(ctx, scheduler.Event{ID: "A", Due: t0}))
				if tc.later {
					must(t, h.Schedule(ctx, scheduler.Event{ID: "B", Due: t0.Add(10 * time.Minute)}))
				}
				if tc.mutant != nil {
					// Its Schedule never arms: start it like the correct one.
					must(t, rule.Arm(ctx, t0))
				}
				e := scheduler.Event{ID: "E", Due: t0.Add(90 * time.Second)}
				hs.hook = func() { must(t, h.Schedule(ctx, e)) }
				want := scheduler.ArmTarget(e.Due, t0, time.Minute, 0)

				drive(t, h, clk, rule, t0.Add(time.Hour))

				ran, ok := fx.first["E"]
				lost := !ok || ran.After(want)
				if lost != tc.wantLost {
					t.Fatalf("E ran %v (ok=%v), armed minute %v: lost=%v, want %v",
						ran, ok, want, lost, tc.wantLost)
				}
				if fx.early > 0 {
					t.Fatalf("%d early runs", fx.early)
				}
			})
		}
	}
}

// drive fires the handler at each armed minute (zero jitter) until the rule
// is idle or until passes.
func drive(t *testing.T, h *scheduler.Handler, clk *manualClock, rule *recRule, until time.Time) {
	t.Helper()
	for {
		m, ok := rule.take()
		if !ok || m.After(until) {
			return
		}
		if m.After(clk.Now()) {
			clk.Set(m)
		}
		if _, err := h.Fire(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
}

func TestHandler_Fire_DuplicateRunsNothingTwice(t *testing.T) {
	tests := []struct {
		name       string
		concurrent int
	}{
		{"sequential duplicate", 1},
		{"eight concurrent deliveries", 8},
	}
	ctx := context.Background()
	for _, st := range stores {
		for _, tc := range tests {
			t.Run(st.name+"/"+tc.name, func(t *testing.T) {
				clk := &manualClock{t: t0}
				s := st.new(t, clk.Now)
				rule := &recRule{}
				fx := newEffects(clk.Now)
				h, err := scheduler.New(scheduler.Options{Store: s, Rule: rule, Run: fx.run, Now: clk.Now, Batch: 7})
				if err != nil {
					t.Fatal(err)
				}
				const n = 300
				for i := range n {
					must(t, h.Schedule(ctx, scheduler.Event{ID: fmt.Sprint(i), Due: t0.Add(-time.Duration(i) * time.Second)}))
				}
				for range 2 { // the rule's duplicate delivery, after the first
					var wg sync.WaitGroup
					for range tc.concurrent {
						wg.Go(func() {
							if _, err := h.Fire(ctx, t0); err != nil {
								t.Error(err)
							}
						})
					}
					wg.Wait()
				}
				if len(fx.runs) != n {
					t.Fatalf("%d events ran, want %d", len(fx.runs), n)
				}
				for id, r := range fx.runs {
					if r != 1 {
						t.Fatalf("event %s ran %d times", id, r)
					}
				}
			})
		}
	}
}

func TestHandler_Fire_FailedEffectRetried(t *testing.T) {
	ctx := context.Background()
	clk := &manualClock{t: t0}
	rule := &recRule{}
	fx := newEffects(clk.Now)
	fail := true
	run := func(ctx context.Context, ev scheduler.Event) error {
		if fail {
			fail = false
			return errors.New("smtp down")
		}
		return fx.run(ctx, ev)
	}
	h, _ := scheduler.New(scheduler.Options{Store: scheduler.NewMemStore(clk.Now, 0, 1), Rule: rule, Run: run, Now: clk.Now})
	must(t, h.Schedule(ctx, scheduler.Event{ID: "A", Due: t0}))
	rep, err := h.Fire(ctx, t0)
	if err != nil || rep.Failed != 1 || !rep.Target.Equal(t0.Add(time.Minute)) {
		t.Fatalf("Fire = %+v, %v; want one failure and a retry armed at t0+1m", rep, err)
	}
	drive(t, h, clk, rule, t0.Add(time.Hour))
	if fx.runs["A"] != 1 {
		t.Fatalf("A ran %d times after retry", fx.runs["A"])
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
