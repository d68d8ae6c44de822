package model

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/stormsim/stormsim/coordinator"
	"github.com/stormsim/stormsim/scenarios"
	"github.com/stormsim/stormsim/sim"
	"github.com/stormsim/stormsim/sim/checker"
	"github.com/stormsim/stormsim/sim/delivery"
	"github.com/stormsim/stormsim/sim/env"
	"github.com/stormsim/stormsim/sim/history"
	"github.com/stormsim/stormsim/sim/workload"
)

// ErrNotModelled marks a scenario the model cannot plan (faults, the
// closed workload model, the s3-conditional strategy, regional outages).
var ErrNotModelled = errors.New("not modelled")

// Options configure one plan.
type Options struct {
	Scenario *scenarios.Scenario
	Seed     uint64
	Profile  *Profile   // before the scenario's plan overrides
	Calls    *Sequences // the coordinator's calls (RecordEmbedded)
	// Started is the run's nominal start, for results.json.
	Started time.Time
}

// Result is a plan: the figures a real run would report, and the model's
// own (handler pool, Redis, what it could not model).
type Result struct {
	Run     *sim.Result
	Profile *Profile // with the overrides applied
	Pool    []PoolSecond
	Info    Info
	// Regions is a multi-region plan's replication (nil: one region).
	Regions *Regions
}

// Info is what only a model reports.
type Info struct {
	Invocations, ColdStarts, Throttles int64
	MaxConcurrency, Limit              int
	RedisUtilization                   float64 // the busiest node's busy share
	RedisWaitMean                      float64 // seconds a Redis call queued, on average
	LockBusy                           int64   // lock attempts that found the lock held
	Events                             int64
	MaxLiveUploads                     int
	Notes                              []string
}

// Run plays the scenario's planned workload through the model in virtual
// time. The same options give the same result.
func Run(ctx context.Context, o Options) (*Result, error) {
	sc := o.Scenario
	if err := modelled(sc); err != nil {
		return nil, err
	}
	prof, err := o.Profile.withOverrides(sc.Plan)
	if err != nil {
		return nil, err
	}
	m, notes, err := newMachine(sc, prof, o.Calls, o.Seed)
	if err != nil {
		return nil, err
	}
	plan := workload.NewPlan(sc, o.Seed)
	if sc.Regions == nil {
		// A regions plan keeps the CPU out: its calls' latencies include
		// the latency matrix, which costs no CPU (regions.go says so).
		m.cpu = newCPUServer(prof, plan.Streams())
	}
	late := noLate
	if m.cpu != nil {
		late = m.cpu.late
	}
	m.dev = newDevices(sc, prof, plan.Streams(), late)
	if sc.Regions != nil {
		notes = append(notes, m.regions(o.Seed)...)
	}
	if m.dev.policy.est != nil {
		notes = append(notes, "wait.poll.first_delay auto: the devices' estimator (sim/traffic) is played; it reads the first poll's estimate when staging starts (a run: when it ends) and takes a device's pending answers when the decision is made (a run: at each poll)")
	}
	// The workload hash replays the whole plan: on another core, while
	// the model runs (the goroutine is waited for below, on every path).
	hash := make(chan string, 1)
	go func() { hash <- workload.Hash(sc, o.Seed) }()
	horizon := int64(plan.PlannedWindow() + sc.Drain)
	next, more := plan.Next()
	var now, events int64
	for {
		at, queued := m.q.peek()
		if more && (!queued || int64(next.At) <= at) {
			now = int64(next.At)
			m.arrive(next)
			next, more = plan.Next()
			continue
		}
		if !queued || at > horizon {
			break
		}
		e := m.q.pop()
		now = e.at
		switch e.kind {
		case evDeliver:
			m.onDeliver(now, e.id)
		case evCall:
			m.onCall(now, e.id)
		case evLearn:
			m.onLearn(now, e.id)
		default:
			m.reg.handle(m, now, e)
		}
		if events++; events&0xffff == 0 && ctx.Err() != nil {
			<-hash
			return nil, fmt.Errorf("plan %s: %w", sc.Name, ctx.Err())
		}
	}
	res := m.result(sc, o, plan, now)
	switch n := m.cpu.note(prof, m.c.launched, now); {
	case n != "":
		notes = append(notes, n)
	case prof.Handler.Kind == "queue":
		notes = append(notes, fmt.Sprintf("cpu: not modelled: profile %s has no cpu section, so the harness's own CPU contention is left out (simrun calibrate writes one)", prof.Name))
	}
	res.Run.WorkloadHash = <-hash
	res.Profile = prof
	res.Info.Events, res.Info.Notes = events, notes
	res.Info.RedisUtilization = m.redis.utilization(now)
	if m.reg != nil {
		res.Regions = m.reg.result(m)
		if n := m.reg.jobs.live; n > 0 { // as a regions run whose queues did not empty
			res.Run.DrainTimeout = true
			res.Info.Notes = append(res.Info.Notes, fmt.Sprintf("regions: %d replication event(s) still queued or in flight when the drain ended: their lag is left out and the regions hold different versions", n))
		}
	}
	return res, nil
}

// Check reports, before anything runs, whether the model plans sc with
// profile p: an error wrapping ErrNotModelled or ErrProfile if not.
func Check(sc *scenarios.Scenario, p *Profile) error {
	if err := modelled(sc); err != nil {
		return err
	}
	_, err := p.withOverrides(sc.Plan)
	return err
}

func modelled(sc *scenarios.Scenario) error {
	switch {
	case sc.Model == "closed":
		return fmt.Errorf("%w: model closed (only the open workload model is planned)", ErrNotModelled)
	case len(sc.Faults) > 0:
		return fmt.Errorf("%w: faults (faults[0].kind %s): a plan models a healthy system", ErrNotModelled, sc.Faults[0].Kind)
	case sc.Coordinator.Strategy != "" && sc.Coordinator.Strategy != coordinator.StrategyRedisLock:
		return fmt.Errorf("%w: coordinator.strategy %s (only redis-lock is recorded)", ErrNotModelled, sc.Coordinator.Strategy)
	case len(sc.Phases) == 0:
		return fmt.Errorf("%w: a scenario without upload phases", ErrNotModelled)
	case sc.Regions != nil:
		return regionsModelled(sc.Regions)
	}
	return nil
}

func newMachine(sc *scenarios.Scenario, p *Profile, calls *Sequences, seed uint64) (*machine, []string, error) {
	var notes []string
	c, err := coordinator.New(coordinator.Config{Bucket: "model", LockTTL: sc.Coordinator.LockTTL, Now: time.Now}, nil, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("plan: %w", err)
	}
	st := workload.NewStreams(seed)
	pop := &sc.Population
	files := max(pop.Users, 1) * max(pop.FilesPerUser, 1)
	compile := func(cs []Call) []callSpec {
		out := make([]callSpec, len(cs))
		for i, c := range cs {
			out[i] = newCallSpec(c, p)
			if p.op(string(c)).Kind == "" {
				notes = append(notes, fmt.Sprintf("profile %s has no latency for %s: taken as 0", p.Name, c))
			}
		}
		return out
	}
	m := &machine{sc: sc, profile: p, prefix: compile(calls.Prefix), gone: compile(calls.Gone),
		lockCall: compile([]Call{calls.Lock})[0],
		tails:    [3][]callSpec{compile(calls.Tails[SeqCommit]), compile(calls.Tails[SeqConflict]), compile(calls.Tails[SeqDone])},
		files:    make([]file, files), held: map[int32]int32{},
		lockWaitMax: int64(c.Config().LockWait), retries: sc.Coordinator.Retries,
		rCalls: st.New("model-calls"), rDeliv: st.New("model-delivery"),
		delay: sampler(sc.Delivery.Delay), platform: sampler(p.Delivery.Delay),
		redis: newRedisServer(p), m: newMeasure()}
	m.pool = newPool(p, sc.Coordinator.Concurrency, st.New("model-handlers"))
	for _, d := range p.Handler.RetryDelays {
		m.retryDelays = append(m.retryDelays, secondsNs(d))
	}
	if len(m.retryDelays) == 0 {
		m.retryDelays = []int64{0}
	}
	if workload.HasFollow(sc) {
		m.slotLast = make([]int32, max(pop.Users, 1)*max(pop.DevicesPerUser, 1))
	}
	return m, notes, nil
}

// result turns the machine's state at the end into a sim.Result.
func (m *machine) result(sc *scenarios.Scenario, o Options, plan *workload.Plan, end int64) *Result {
	pending, reasons := m.unfinished(end)
	planned, _ := plan.PlannedCount()
	run := &sim.Result{Scenario: sc.Name, Seed: o.Seed,
		Strategy: string(coordinator.StrategyRedisLock), Started: o.Started, Elapsed: time.Duration(end),
		Window: plan.PlannedWindow(), Planned: planned, PlannedRate: plan.PlannedRate(), Launched: m.c.launched,
		Measure: m.m.snapshot(), HandlerSeconds: float64(m.c.handlerNs) / 1e9,
		Delivery: delivery.Counts{Emitted: m.c.emitted, Duplicated: m.c.duplicated, Reordered: m.c.reordered,
			Invocations: m.invocations(), Failures: m.c.failures, Retries: m.c.retries, Dead: m.c.dead},
		Ops:   env.OpCounts{S3: m.c.s3Counts(), Redis: m.redis.calls + m.c.redis},
		Check: checker.Report{Pending: pending, PendingReasons: reasons, DecidedLate: int(m.c.decidedLate)}}
	run.DrainTimeout = pending > 0
	info := Info{Invocations: m.invocations(), Limit: m.pool.limit, LockBusy: m.c.lockBusy, MaxLiveUploads: m.ups.max}
	for _, p := range m.allPools() { // one per region; MaxConcurrency is the busiest region's
		info.ColdStarts += p.coldStarts
		info.Throttles += p.throttles
		info.MaxConcurrency = max(info.MaxConcurrency, p.maxBusy)
	}
	if m.redis.calls > 0 {
		info.RedisWaitMean = float64(m.redis.waited) / float64(m.redis.calls) / 1e9
	}
	return &Result{Run: run, Pool: poolSeries(m.allPools()), Info: info}
}

// allPools are the handler pools: one per region.
func (m *machine) allPools() []*pool {
	if m.pools == nil {
		return []*pool{m.pool}
	}
	return m.pools
}

// invocations counts the handler invocations of every region's pool.
func (m *machine) invocations() int64 {
	var n int64
	for _, p := range m.allPools() {
		n += p.invocations
	}
	return n
}

// unfinished counts what the end left: uploads no decision reached
// (pending, by where their event was) and devices still waiting; each
// device that had not learned its outcome gave up (unknown).
func (m *machine) unfinished(end int64) (int, map[string]int) {
	reasons := map[string]int{}
	pending := 0
	for i := range m.ups.items {
		u := &m.ups.items[i]
		if !u.alive || u.learned {
			continue
		}
		if !u.written {
			pending++
			switch {
			case u.dead:
				reasons[history.PendingDead]++
			case u.invs > 0:
				reasons[history.PendingQueued]++
			default:
				reasons[history.PendingLost]++
			}
		}
		m.m.finished(u, ocUnknown, end, 0, learning{gaveUp: true})
	}
	if pending == 0 {
		reasons = nil
	}
	return pending, reasons
}
