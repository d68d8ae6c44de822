package schedsim

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/stormsim/stormsim/coordinator/scheduler"
	"github.com/stormsim/stormsim/sim/history"
)

// Run generates the workload once and runs the main strategy and each
// Compare peer on it, each in its own world (clock, table, rule) seeded
// alike. Strategies run in parallel up to GOMAXPROCS. The main strategy's
// events go to sink (nil: none), one history.Sched each, in event order.
// A cancelled ctx ends the runs early; the partial Result comes with
// ctx.Err().
func Run(ctx context.Context, cfg Config, sink func(history.Sched)) (Result, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return Result{}, err
	}
	plan := generate(cfg)
	names := cfg.strategies()
	res := Result{Seed: cfg.Seed, Strategy: cfg.Strategy, Strategies: make([]StrategyResult, len(names))}
	envs := make([]*env, len(names))
	errs := make([]error, len(names))

	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			envs[i], res.Strategies[i], errs[i] = runStrategy(ctx, cfg, name, plan)
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return res, err
		}
	}
	if sink != nil {
		envs[0].emit(sink)
	}
	return res, ctx.Err()
}

// runStrategy runs one strategy to the end of the drain.
func runStrategy(ctx context.Context, cfg Config, name string, plan []planned) (*env, StrategyResult, error) {
	wallStart := time.Now()
	var clk Clock
	start := cfg.Start
	if cfg.Wall {
		clk, start = Wall{}, time.Now()
	} else {
		clk = NewVirtual(start)
	}
	e := newEnv(ctx, cfg, name, plan, clk, start)

	var store table
	switch cfg.Store {
	case "redis":
		c := cfg.Redis
		if c == nil {
			mr, err := miniredis.Run()
			if err != nil {
				return e, StrategyResult{}, fmt.Errorf("start miniredis: %w", err)
			}
			defer mr.Close()
			cl := redis.NewClient(&redis.Options{Addr: mr.Addr()})
			defer func() { _ = cl.Close() }()
			c = cl
		}
		store = scheduler.NewRedisStore(c, fmt.Sprintf("schedsim:%s:%d:%d", name, cfg.Seed, time.Now().UnixNano()))
	default:
		store = scheduler.NewMemStore(e.now, cfg.Staleness, cfg.rng("store").Uint64())
	}
	if e.virt != nil && cfg.StoreLatency > 0 {
		store = &simStore{e: e, s: store}
	}

	var fire func(time.Time)
	var one func(scheduler.Event, time.Time)
	e.rule = NewRule(clk, RuleConfig{
		Resolution: cfg.Resolution, Jitter: cfg.Jitter,
		DuplicateFire: cfg.DuplicateFire, DuplicateDelay: cfg.DuplicateDelay,
		UpdateDelay: cfg.UpdateDelay, UpdateRate: cfg.UpdateRateLimit, UpdateBurst: cfg.UpdateBurst,
	}, cfg.rng("rule"), func(t time.Time) { fire(t) }, func(ev scheduler.Event, t time.Time) { one(ev, t) })

	run := e.effect
	if cfg.Mail != nil && name == cfg.Strategy {
		m, err := newMailer(e)
		if err != nil {
			return e, StrategyResult{}, err
		}
		e.mail, run = m, m.effect
	}

	var theory time.Duration
	jitter := meanDraw(cfg.Jitter, cfg.Resolution, cfg.rng("theory"))
	switch name {
	case StrategySelf:
		h, err := scheduler.New(scheduler.Options{
			Store: store, Rule: e.rule, Run: run, Now: e.now,
			Resolution: cfg.Resolution, Lead: cfg.Lead, Hooks: cfg.Hooks,
		})
		if err != nil {
			return e, StrategyResult{}, err
		}
		fire, e.schedule = e.invoke(h.Fire), h.Schedule
		theory += cfg.Resolution / 2
	case StrategyPoll:
		p := &scheduler.Poller{Store: store, Run: run, Now: e.now, Every: cfg.Interval}
		fire, e.schedule = e.invoke(p.Fire), p.Schedule
		if err := p.Start(ctx, e.rule); err != nil {
			return e, StrategyResult{}, err
		}
		theory += cfg.Interval / 2
	case StrategyOneShot:
		o := &scheduler.OneShot{Store: store, Run: run, Rule: e.rule, Now: e.now}
		e.schedule = o.Schedule
		one = func(ev scheduler.Event, t time.Time) {
			e.invoke(func(ctx context.Context, t time.Time) (scheduler.FireReport, error) {
				return o.FireEvent(ctx, ev, t)
			})(t)
		}
		jitter = meanDraw(cfg.Jitter, 0, cfg.rng("theory"))
	}

	end := start.Add(cfg.Duration + cfg.Drain)
	if e.virt != nil {
		e.feed.arm(ctx)
		for steps := 0; e.virt.Step(end); steps++ {
			if steps%4096 == 0 && ctx.Err() != nil {
				break
			}
		}
		if ctx.Err() == nil {
			e.virt.RunUntil(end)
		}
	} else {
		e.runWall(ctx, end)
	}
	e.rule.Stop()
	r := e.result(theory, jitter)
	r.WallSeconds = time.Since(wallStart).Seconds()
	return e, r, nil
}

// runWall feeds inserts on their instants from one goroutine it owns, while
// the rule delivers on timer goroutines, until end or cancellation. Past
// end it waits on, up to another cfg.Drain, while accepted events have not
// run yet: on a starved machine timers fire late, and an event that would
// run a little later is late, not missed. An event lost by the scheduler
// never runs, so it still shows as missed.
func (e *env) runWall(ctx context.Context, end time.Time) {
	dctx, cancel := context.WithDeadline(ctx, end)
	defer cancel()
	e.retryUntil = end
	for e.feed.next < len(e.plan) {
		at := e.start.Add(time.Duration(e.plan[e.feed.next].insert))
		t := time.NewTimer(time.Until(at))
		select {
		case <-dctx.Done():
			t.Stop()
			e.feed.refuseRest()
			return
		case <-t.C:
		}
		e.feed.catchUp(ctx, time.Now()) // an insert under way may finish past end
	}
	<-dctx.Done()
	if ctx.Err() != nil {
		return
	}
	grace := time.NewTimer(max(e.cfg.Drain, e.cfg.Resolution))
	defer grace.Stop()
	select {
	case <-e.allRan:
	case <-grace.C:
	case <-ctx.Done():
	}
}

// emit streams one history.Sched per planned event.
func (e *env) emit(sink func(history.Sched)) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for i, p := range e.plan {
		rec := history.Sched{
			T: history.KindSched, ID: eventID(i),
			Due: e.start.Add(time.Duration(p.due)), Runs: int(e.runs[i]), Refused: e.refused[i], Mail: e.mail != nil,
		}
		if e.runs[i] > 0 {
			f := e.start.Add(time.Duration(e.fired[i]))
			rec.Fired = &f
		}
		sink(rec)
	}
}
