package sim

import (
	"context"
	"time"

	"github.com/stormsim/stormsim/scenarios"
	"github.com/stormsim/stormsim/sim/checker"
	"github.com/stormsim/stormsim/sim/schedsim"
	"github.com/stormsim/stormsim/sim/workload"
)

// SchedulerResult is a scheduler-only run: the simulation's measurements
// and the check of its sched records.
type SchedulerResult struct {
	Sched        schedsim.Result
	Check        checker.Report
	Started      time.Time
	Elapsed      time.Duration
	HistoryLines int64
	Harness      HarnessUse
}

// RunScheduler runs a scenario's scheduler section (virtual time by
// default) and checks the sched records it wrote to OutDir/history.jsonl.
func RunScheduler(ctx context.Context, sc *scenarios.Scenario, seed uint64, outDir string) (*SchedulerResult, error) {
	cfg, err := SchedConfig(sc.Scheduler, seed)
	if err != nil {
		return nil, err
	}
	return runSchedulerConfig(ctx, cfg, outDir)
}

// SchedConfig maps a scenario's scheduler section onto the simulation.
func SchedConfig(s *scenarios.Scheduler, seed uint64) (schedsim.Config, error) {
	strategy, err := schedsim.ParseStrategy(s.Strategy)
	if err != nil {
		return schedsim.Config{}, err
	}
	cfg := schedsim.Config{Strategy: strategy, Duration: time.Duration(s.Days * 24 * float64(time.Hour)),
		NewUsersPerHour: s.NewUsersPerHour, EventsPerUser: s.EventsPerUser, MaxEvents: s.Events,
		Interval: s.Interval, DuplicateFire: s.DuplicateFire, UpdateRateLimit: s.UpdateRateLimit,
		Store: s.Store, Staleness: s.Staleness, HandlerTimePerEvent: s.HandlerTimePerEvent, Seed: seed,
		Wall: s.Clock == "wall", DueAlign: s.DueAlign}
	for _, c := range s.Compare {
		p, err := schedsim.ParseStrategy(c)
		if err != nil {
			return cfg, err
		}
		cfg.Compare = append(cfg.Compare, p)
	}
	for _, d := range s.DueOffsets {
		cfg.DueOffsets = append(cfg.DueOffsets, schedsim.Dist(durationSampler(d)))
	}
	if s.Jitter.Kind != "" {
		cfg.Jitter = schedsim.Dist(durationSampler(s.Jitter))
	}
	if s.UpdateDelay.Kind != "" {
		// The simulated rule takes one update delay: the distribution's mean.
		cfg.UpdateDelay = time.Duration(workload.Mean(s.UpdateDelay) * float64(time.Second))
	}
	return cfg, nil
}
