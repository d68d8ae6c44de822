package schedsim_test

import (
	"context"
	"testing"
	"time"

	"github.com/stormsim/stormsim/sim/schedsim"
)

// week is the scale the issue asks for: 7 days, 1,000,000 events, sign-up
// reminders with jittered, sometimes duplicated fires.
func week(compare ...string) schedsim.Config {
	return schedsim.Config{
		Compare:  compare,
		Duration: 7 * 24 * time.Hour, NewUsersPerHour: 2150, EventsPerUser: 3,
		DueOffsets: []schedsim.Dist{
			schedsim.Uniform(0, 10*time.Minute),
			schedsim.Const(time.Hour),
			schedsim.Uniform(20*time.Hour, 28*time.Hour),
		},
		Jitter:        schedsim.Uniform(0, 20*time.Second),
		DuplicateFire: 0.01,
		UpdateDelay:   2 * time.Second,
		MaxEvents:     1_000_000, Seed: 42,
	}
}

func runWeek(tb testing.TB, cfg schedsim.Config) schedsim.Result {
	start := time.Now()
	res, err := schedsim.Run(context.Background(), cfg, nil)
	if err != nil {
		tb.Fatal(err)
	}
	for _, s := range res.Strategies {
		tb.Logf("%-8s %d events in %.1f simulated days, %.2fs wall: early=%d missed=%d dup=%d mean=%.1fs p99=%.1fs inv=%d updates=%d",
			s.Strategy, s.Events, s.SimulatedSeconds/86400, s.WallSeconds, s.Early, s.Missed, s.Duplicates,
			s.Lateness.Mean, s.Lateness.P99, s.Invocations, s.RuleUpdates)
		if s.Events != 1_000_000 || !s.OK() {
			tb.Fatalf("%s: %+v", s.Strategy, s)
		}
	}
	tb.Logf("total %.2fs", time.Since(start).Seconds())
	return res
}

func TestRun_WeekOfAMillionEvents(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("a million events: a timing test, run without -short and -race")
	}
	runWeek(t, week(schedsim.StrategyPoll, schedsim.StrategyOneShot))
}

func BenchmarkRun_Week1M(b *testing.B) {
	for b.Loop() {
		runWeek(b, week())
	}
}

func BenchmarkRun_Week1MAllStrategies(b *testing.B) {
	for b.Loop() {
		runWeek(b, week(schedsim.StrategyPoll, schedsim.StrategyOneShot))
	}
}
