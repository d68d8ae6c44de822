package scheduler_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stormsim/stormsim/coordinator/scheduler"
)

// TestHandler_Fire_StaleRead: events inserted a second before the handler
// runs are still invisible to its reads (30 s staleness). The correct
// handler arms a re-check for when they have become visible; the naive one
// disarms and loses them. Neither runs anything early.
func TestHandler_Fire_StaleRead(t *testing.T) {
	tests := []struct {
		name     string
		mutant   *scheduler.Hooks
		wantLost bool
	}{
		{"correct", nil, false},
		{"mutant lose-inserts", loseInserts, true},
	}
	ctx := context.Background()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := &manualClock{t: t0.Add(-5 * time.Minute)}
			s := scheduler.NewMemStore(clk.Now, 30*time.Second, 3)
			rule := &recRule{}
			fx := newEffects(clk.Now)
			h, err := scheduler.New(scheduler.Options{Store: s, Rule: rule, Run: fx.run, Now: clk.Now, Hooks: tc.mutant})
			if err != nil {
				t.Fatal(err)
			}
			must(t, h.Schedule(ctx, scheduler.Event{ID: "A", Due: t0}))
			must(t, rule.Arm(ctx, t0)) // (the mutant's Schedule never arms)
			clk.Set(t0.Add(-time.Second))
			const n = 20
			for i := range n {
				must(t, h.Schedule(ctx, scheduler.Event{ID: fmt.Sprint("E", i), Due: t0.Add(5 * time.Second)}))
			}
			drive(t, h, clk, rule, t0.Add(time.Hour))
			if fx.early > 0 {
				t.Fatalf("%d early runs", fx.early)
			}
			lost := 0
			for i := range n {
				ran, ok := fx.first[fmt.Sprint("E", i)]
				if !ok || ran.After(t0.Add(time.Minute)) {
					lost++
				}
			}
			if (lost > 0) != tc.wantLost {
				t.Fatalf("%d of %d hidden events lost, want lost=%v", lost, n, tc.wantLost)
			}
			if fx.runs["A"] != 1 {
				t.Fatalf("A ran %d times", fx.runs["A"])
			}
		})
	}
}

// loseInserts is the naive protocol: no arm register (GuardRegister off).
var loseInserts = &scheduler.Hooks{Disabled: func(g string) bool { return g == scheduler.GuardRegister }}
