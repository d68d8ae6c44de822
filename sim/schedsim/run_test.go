package schedsim_test

import (
	"context"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/stormsim/stormsim/coordinator/scheduler"
	"github.com/stormsim/stormsim/sim/history"
	"github.com/stormsim/stormsim/sim/schedsim"
)

var all = []string{schedsim.StrategyPoll, schedsim.StrategyOneShot}

// day is a day of sign-up reminders: three events per user, due in an
// hour, a day-ish and a few minutes.
func day() schedsim.Config {
	return schedsim.Config{
		Strategy: schedsim.StrategySelf, Compare: all,
		Duration: 24 * time.Hour, NewUsersPerHour: 400,
		DueOffsets: []schedsim.Dist{
			schedsim.Uniform(0, 5*time.Minute),
			schedsim.Const(time.Hour),
			schedsim.Uniform(20*time.Hour, 23*time.Hour),
		},
		Interval: 5 * time.Minute, Seed: 1,
	}
}

func TestRun_NeverEarlyNothingLostNothingTwice(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*schedsim.Config)
	}{
		{"ideal", func(*schedsim.Config) {}},
		{"jitter and duplicates", func(c *schedsim.Config) {
			c.Jitter = schedsim.Uniform(0, time.Minute)
			c.DuplicateFire = 0.2
		}},
		{"slow throttled updates", func(c *schedsim.Config) {
			c.UpdateDelay = 3 * time.Second
			c.UpdateRateLimit = 0.5
			c.UpdateBurst = 2
			c.Jitter = schedsim.Exp(10 * time.Second)
		}},
		{"stale table", func(c *schedsim.Config) {
			c.Staleness = 45 * time.Second
			c.DuplicateFire = 0.1
		}},
		{"slow store races inserts", func(c *schedsim.Config) {
			c.StoreLatency = 200 * time.Millisecond
			c.Staleness = 20 * time.Second
			c.Jitter = schedsim.Uniform(0, 50*time.Second)
		}},
		{"storm: handler time adds drift", func(c *schedsim.Config) {
			c.DueOffsets = []schedsim.Dist{schedsim.Const(0)}
			c.NewUsersPerHour = 2000
			c.HandlerTimePerEvent = 50 * time.Millisecond
			c.Duration = 2 * time.Hour
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := day()
			cfg.Duration = 6 * time.Hour
			tc.mod(&cfg)
			res, err := schedsim.Run(context.Background(), cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range res.Strategies {
				t.Logf("%-8s events=%d runs=%d early=%d missed=%d dup=%d late mean=%.1fs (theory %.1fs) p99=%.1fs max=%.1fs inv=%d empty=%d updates=%d throttled=%d missedFires=%d errs=%d",
					s.Strategy, s.Events, s.Runs, s.Early, s.Missed, s.Duplicates, s.Lateness.Mean, s.TheoryMeanSeconds,
					s.Lateness.P99, s.Lateness.Max, s.Invocations, s.EmptyWakeups, s.RuleUpdates, s.ThrottledUpdates, s.MissedFires, s.Errors)
				if !s.OK() || s.Errors > 0 || s.Events == 0 {
					t.Errorf("%s: invariant failed: %+v", s.Strategy, s)
				}
			}
		})
	}
}

func TestRun_MeanLatenessMatchesTheory(t *testing.T) {
	cfg := schedsim.Config{
		Duration: 48 * time.Hour, NewUsersPerHour: 100000.0 / 47,
		DueOffsets: []schedsim.Dist{schedsim.Uniform(0, time.Hour)},
		MaxEvents:  100000, Seed: 7,
	}
	res, err := schedsim.Run(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	m := res.Main()
	if m.Events != 100000 || !m.OK() {
		t.Fatalf("run: %+v", m)
	}
	if math.Abs(m.Lateness.Mean-30) > 1 || m.TheoryMeanSeconds != 30 {
		t.Fatalf("mean lateness %.3fs, theory %.1fs: want within 1 s of 30 s", m.Lateness.Mean, m.TheoryMeanSeconds)
	}
	t.Logf("mean %.3fs p50 %.1fs p99 %.1fs max %.1fs over %d events", m.Lateness.Mean, m.Lateness.P50, m.Lateness.P99, m.Lateness.Max, m.Events)
}

func TestRun_MutantsAreDetected(t *testing.T) {
	tests := []struct {
		name  string
		off   []string // the guards switched off
		check func(schedsim.StrategyResult) bool
	}{
		{"early", []string{scheduler.GuardRoundUp, scheduler.GuardCutoff}, func(s schedsim.StrategyResult) bool { return s.Early > 0 }},
		{"lose-inserts", []string{scheduler.GuardRegister}, func(s schedsim.StrategyResult) bool { return s.Missed > 0 }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := schedsim.Config{
				Duration: 6 * time.Hour, NewUsersPerHour: 20,
				DueOffsets: []schedsim.Dist{schedsim.Uniform(0, 10*time.Minute)},
				Staleness:  10 * time.Second, StoreLatency: time.Second,
				Hooks: &scheduler.Hooks{Disabled: func(g string) bool { return slices.Contains(tc.off, g) }}, Seed: 3,
			}
			res, err := schedsim.Run(context.Background(), cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			m := res.Main()
			t.Logf("early=%d missed=%d dup=%d of %d", m.Early, m.Missed, m.Duplicates, m.Events)
			if !tc.check(m) || m.OK() {
				t.Fatalf("mutant %s not detected: %+v", tc.name, m)
			}
		})
	}
}

func TestRun_SinkGetsOneSchedPerEvent(t *testing.T) {
	cfg := day()
	cfg.Duration = time.Hour
	var recs []history.Sched
	res, err := schedsim.Run(context.Background(), cfg, func(s history.Sched) { recs = append(recs, s) })
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(recs)) != res.Main().Events || len(recs) == 0 {
		t.Fatalf("%d records for %d events", len(recs), res.Main().Events)
	}
	for _, r := range recs {
		if r.T != history.KindSched || r.Runs != 1 || r.Fired == nil || r.Fired.Before(r.Due) {
			t.Fatalf("bad record %+v", r)
		}
	}
}
