package sim

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stormsim/stormsim/scenarios"
	"github.com/stormsim/stormsim/sim/checker"
	"github.com/stormsim/stormsim/sim/history"
	"github.com/stormsim/stormsim/sim/measure"
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
	Harness      measure.HarnessUse
	// Email is set when the scheduler's events are e-mails.
	Email *EmailRun
}

// RunScheduler runs a scenario's scheduler section (virtual time by
// default) and checks the sched records it wrote to OutDir/history.jsonl.
func RunScheduler(ctx context.Context, sc *scenarios.Scenario, seed uint64, outDir string) (*SchedulerResult, error) {
	return RunSchedulerMail(ctx, sc, seed, outDir, MailServer{})
}

// RunSchedulerMail is RunScheduler with the e-mail (scheduler.email) sent
// to the server ms names (zero: the embedded one).
func RunSchedulerMail(ctx context.Context, sc *scenarios.Scenario, seed uint64, outDir string, ms MailServer) (*SchedulerResult, error) {
	cfg, err := SchedConfig(sc.Scheduler, seed)
	if err != nil {
		return nil, err
	}
	return RunSchedulerConfig(ctx, cfg, outDir, MailRun{Email: sc.Scheduler.Email, Server: ms, Seed: seed})
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
		cfg.DueOffsets = append(cfg.DueOffsets, schedsim.Dist(workload.DurationSampler(d)))
	}
	if s.Jitter.Kind != "" {
		cfg.Jitter = schedsim.Dist(workload.DurationSampler(s.Jitter))
	}
	if s.UpdateDelay.Kind != "" {
		// The simulated rule takes one update delay: the distribution's mean.
		cfg.UpdateDelay = time.Duration(workload.Mean(s.UpdateDelay) * float64(time.Second))
	}
	return cfg, nil
}

// RunSchedulerConfig runs a prepared scheduler configuration, streams its
// sched records (and, with e-mail, the mail records read back from the
// mail server) to outDir/history.jsonl and checks them.
func RunSchedulerConfig(ctx context.Context, cfg schedsim.Config, outDir string, mail MailRun) (*SchedulerResult, error) {
	em, err := mail.start(&cfg)
	if err != nil {
		return nil, err
	}
	if em != nil {
		defer em.close()
	}
	hf, err := os.Create(filepath.Join(outDir, "history.jsonl"))
	if err != nil {
		return nil, fmt.Errorf("create history: %w", err)
	}
	defer hf.Close()
	w := history.NewWriter(hf)
	res := &SchedulerResult{Started: time.Now()}
	var scheds []history.Sched
	res.Sched, err = schedsim.Run(ctx, cfg, func(s history.Sched) {
		_ = w.Write(s)
		if em != nil {
			scheds = append(scheds, s)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("scheduler run: %w", err)
	}
	if em != nil {
		if res.Email, err = em.finish(ctx, w, scheds); err != nil {
			return nil, fmt.Errorf("read back e-mail: %w", err)
		}
	}
	if err := w.Flush(); err != nil {
		return nil, err
	}
	res.Elapsed = time.Since(res.Started)
	res.HistoryLines = w.Lines()
	res.Harness = measure.Harness(res.Elapsed)
	res.Check, err = checker.CheckFile(hf.Name(), checker.Options{})
	return res, err
}

// BesideScale is how much faster than real time a scheduler runs beside an
// upload workload: its rule's minute lasts one wall second, so a short load
// run still sees many re-arms. Lateness is reported in those scaled units
// (multiply by 60 for scheduler seconds).
const BesideScale = 60

// schedulerBeside runs the scenario's scheduler on the wall clock during
// the upload run (the same scheduler code as in virtual time), writing its
// sched records into the same history; it returns when the scheduler's
// run has ended (Run's errgroup owns it).
func (r *runner) schedulerBeside(ctx context.Context, res *Result) {
	s := r.sc.Scheduler
	if s == nil {
		return
	}
	cfg, err := SchedConfig(s, r.opt.Seed)
	if err != nil {
		r.emit.Error("scheduler")
		return
	}
	scale := func(d time.Duration) time.Duration { return d / BesideScale }
	cfg.Wall = true
	cfg.Resolution = scale(time.Minute)
	cfg.Duration = r.sc.Duration
	if cfg.Duration == 0 {
		for _, ph := range r.sc.Phases {
			cfg.Duration += ph.Duration
		}
	}
	cfg.Duration = max(cfg.Duration, 3*time.Second)
	if cfg.Interval == 0 {
		cfg.Interval = 5 * time.Minute
	}
	cfg.Interval = scale(cfg.Interval)
	// Nothing is due after the window, so the drain needs only a few rule
	// periods (plus a fixed-interval peer's period).
	cfg.Drain = 3*cfg.Resolution + cfg.Interval
	cfg.UpdateDelay = scale(cfg.UpdateDelay)
	cfg.HandlerTimePerEvent = scale(cfg.HandlerTimePerEvent)
	cfg.Staleness = scale(cfg.Staleness)
	cfg.NewUsersPerHour *= BesideScale
	for i, d := range cfg.DueOffsets {
		cfg.DueOffsets[i] = func(rr *rand.Rand) time.Duration { return scale(d(rr)) }
	}
	if j := cfg.Jitter; j != nil {
		cfg.Jitter = func(rr *rand.Rand) time.Duration { return scale(j(rr)) }
	}
	// The scheduler has its own connections, as its own Lambda would: on
	// the upload handlers' pool its inserts queue behind a burst.
	rdb, closeRedis := cloneRedis(r.env.Redis)
	cfg.Redis = rdb
	defer closeRedis()
	out, err := schedsim.Run(ctx, cfg, func(h history.Sched) { r.emit.Record(h) })
	if err != nil {
		r.emit.Error("scheduler")
		return
	}
	res.Scheduler = &out
}

// cloneRedis returns a client with c's options and its own connection
// pool, and how to close it; a client of another kind is shared as is.
func cloneRedis(c redis.UniversalClient) (redis.UniversalClient, func()) {
	switch c := c.(type) {
	case *redis.Client:
		n := redis.NewClient(c.Options())
		return n, func() { _ = n.Close() }
	case *redis.ClusterClient:
		n := redis.NewClusterClient(c.Options())
		return n, func() { _ = n.Close() }
	}
	return c, func() {}
}
