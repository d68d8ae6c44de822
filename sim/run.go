package sim

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/stormsim/stormsim/coordinator"
	"github.com/stormsim/stormsim/internal/syncx"
	"github.com/stormsim/stormsim/scenarios"
	"github.com/stormsim/stormsim/sim/checker"
	"github.com/stormsim/stormsim/sim/delivery"
	"github.com/stormsim/stormsim/sim/env"
	"github.com/stormsim/stormsim/sim/fault"
	"github.com/stormsim/stormsim/sim/history"
	"github.com/stormsim/stormsim/sim/measure"
	"github.com/stormsim/stormsim/sim/metrics"
	"github.com/stormsim/stormsim/sim/traffic"
	"github.com/stormsim/stormsim/sim/workload"
)

// runner is one run's parts, wired by start and stopped by stop.
type runner struct {
	opt     Options
	sc      *scenarios.Scenario
	env     *env.Env
	coord   *coordinator.Coordinator
	hist    *history.Writer
	rec     *measure.Recorder
	sat     *measure.Meter
	prom    *metrics.Set
	emit    *emitter // the one path to hist, rec, sat and prom
	counter *env.Counter
	obs     *observer
	now     func() time.Time

	delivery  *delivery.Delivery
	feed      *delivery.Feed // External: the feedback reader, else nil
	faults    *fault.Set     // nil without faults
	push      *traffic.PushHub
	devices   *traffic.Devices
	api       *syncx.Server
	abandoned map[string]string // Delivery.Abandoned, for the read-back

	handlerNanos atomic.Int64
	aborted      atomic.Pointer[string]
}

// Run executes a scenario and checks its history. A cancelled ctx stops the
// arrivals, drains briefly and returns a partial result (Interrupted set).
func Run(ctx context.Context, opt Options) (*Result, error) {
	opt = opt.withDefaults()
	sc := opt.Scenario
	if sc.Regions != nil {
		// One region's harness would run it ignoring the regions.
		return nil, errors.New("run scenario: it has regions; sim/regions runs it")
	}
	hf, err := os.Create(filepath.Join(opt.OutDir, "history.jsonl"))
	if err != nil {
		return nil, fmt.Errorf("create history: %w", err)
	}
	defer hf.Close()
	r := &runner{opt: opt, sc: sc, now: time.Now, hist: history.NewWriter(hf), sat: measure.NewMeter(),
		prom: metrics.New(opt.Registry)}
	res := &Result{Scenario: sc.Name, Seed: opt.Seed, Strategy: string(sc.Coordinator.Strategy), Gatherer: opt.Registry,
		WorkloadHash: workload.Hash(sc, opt.Seed)}
	r.emit = &emitter{hist: r.hist, sat: r.sat, prom: r.prom}
	if err := r.start(ctx); err != nil {
		return nil, err
	}
	defer r.stop()

	res.Started = r.now()
	r.sat.Begin(res.Started)
	r.rec = measure.NewRecorder(res.Started)
	r.emit.rec = r.rec
	mem := measure.StartMemSampler(res.Started, 2*time.Second, r.rec.Total)
	defer mem.Stop()
	plan := workload.NewPlan(sc, opt.Seed)
	res.Planned, res.PlannedRate = plannedShare(sc, opt.Seed, opt.Shard, plan)

	// The scheduler beside the uploads and the progress loop run until the
	// drain ends; the group waits for both.
	var g errgroup.Group
	g.Go(func() error { r.schedulerBeside(ctx, res); return nil })
	actx, stopArrivals := context.WithCancel(ctx)
	defer stopArrivals()
	uctx, stopUploads := context.WithCancel(ctx)
	defer stopUploads()
	grace := time.AfterFunc(time.Hour, stopUploads)
	grace.Stop()
	defer grace.Stop()
	// A stop (a signal, or a gate failing mid-run) is recorded the moment
	// it happens: the checker tells the uploads it cut from lost ones.
	var interruptedAt atomic.Pointer[time.Time]
	stopInterrupt := context.AfterFunc(ctx, func() { t := r.now(); interruptedAt.Store(&t) })
	defer stopInterrupt()
	stopProgress := r.progress(res, func() {
		r.emit.Record(history.Stop{T: history.KindStop, Reason: history.StopAborted, At: r.now()})
		stopArrivals()
		grace.Reset(abortGrace)
	})
	res.Launched, res.Window = r.devices.Run(actx, uctx, plan, res.Started)
	res.Interrupted = ctx.Err() != nil
	if res.Interrupted {
		at := r.now() // AfterFunc's goroutine may not have run yet
		if p := interruptedAt.Load(); p != nil {
			at = *p
		}
		r.emit.Record(history.Stop{T: history.KindStop, Reason: history.StopInterrupted, At: at})
	}
	if why := r.aborted.Load(); why != nil {
		res.Aborted = *why
	}

	drain := sc.Drain
	if res.Interrupted || res.Aborted != "" {
		drain = min(drain, abortGrace)
	}
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), drain)
	res.DrainTimeout = r.delivery.Wait(dctx) != nil
	cancel()
	stopProgress()
	_ = g.Wait()
	res.Memory = mem.Stop()
	res.Saturation = r.sat.End(r.now(), opt.Env == nil)
	if opt.Drained != nil {
		opt.Drained()
	}
	res.Elapsed = r.now().Sub(res.Started)
	if r.faults != nil {
		// Again, now the handlers are done: a stall that began before the
		// drain counts its evidence when it ends.
		r.rec.SetFaults(r.faults.Lift(r.rec.Start()))
	}
	res.Measure = r.rec.Snapshot()
	if r.opt.ResultAPI != nil {
		r.recoverDecisions(context.WithoutCancel(ctx))
	}

	// Stop the handlers before reading back: after a drain timeout they
	// would otherwise keep committing while the final state is read, and
	// the read-back would contradict decisions made after it.
	// Stop taking events but let the invocations in progress finish (a
	// handler cut mid-commit would leave a state no system ever reaches,
	// and the read-back would report it as lost); only past stopGrace are
	// they cancelled.
	r.delivery.Stop(stopGrace)
	r.delivery.Close()
	if r.opt.External == nil && r.opt.ResultAPI == nil {
		// (Those modes recover decisions from Redis their own way.)
		if err := r.recoverUnreported(context.WithoutCancel(ctx)); err != nil {
			r.emit.Error("readback")
		}
	}
	res.Decisions = r.obs.counts()
	r.abandoned = r.delivery.Abandoned()
	res.Delivery = r.delivery.Counts()
	if r.feed != nil {
		res.External = r.feed.Diagnosis()
	}
	if r.faults != nil {
		res.Unmet = r.faults.Unmet()
	}
	// Calls per upload are the run's: the read-back below (finals,
	// conflicted copies, stored results) is the harness checking, not load.
	res.Ops = r.counter.Counts()
	r.readBack(context.WithoutCancel(ctx))
	res.StoredBytes = r.storedBytes(context.WithoutCancel(ctx))
	if err := r.hist.Flush(); err != nil {
		return res, err
	}
	res.HistoryLines = r.hist.Lines()
	res.Harness = measure.Harness(res.Elapsed)
	res.HandlerSeconds = time.Duration(r.handlerNanos.Load()).Seconds()

	rep, err := checker.CheckFile(hf.Name(), checker.Options{LinearizabilityTimeout: opt.CheckTimeout,
		Fencing: sc.Coordinator.Strategy != coordinator.StrategyS3Conditional})
	if err != nil {
		return res, fmt.Errorf("check history: %w", err)
	}
	res.Check = rep
	return res, nil
}

// plannedShare is the planned upload count and rate of this shard's share
// of the plan, counted on a second pass (the plan streams, so this costs
// time, not memory).
func plannedShare(sc *scenarios.Scenario, seed uint64, shard traffic.Shard, plan *workload.Plan) (int64, float64) {
	planned, _ := plan.PlannedCount()
	rate := plan.PlannedRate()
	if shard.N <= 1 || sc.Model == "closed" {
		return planned, rate
	}
	var mine int64
	for p := workload.NewPlan(sc, seed); ; {
		a, ok := p.Next()
		if !ok {
			break
		}
		if shard.Owns(a.User) {
			mine++
		}
	}
	if planned > 0 {
		rate *= float64(mine) / float64(planned)
	}
	return mine, rate
}

// progress calls Options.Progress and Options.Abort about once a second;
// abort runs once, when Abort says stop.
func (r *runner) progress(res *Result, abort func()) (stop func()) {
	if r.opt.Progress == nil && r.opt.Abort == nil {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				p := r.snapshotProgress(res)
				if r.opt.Progress != nil {
					r.opt.Progress(p)
				}
				if r.opt.Abort != nil && r.aborted.Load() == nil {
					if why, stop := r.opt.Abort(p); stop {
						r.aborted.Store(&why)
						abort()
					}
				}
			}
		}
	}()
	return func() {
		close(done)
		wg.Wait()
		if r.opt.Progress != nil {
			r.opt.Progress(r.snapshotProgress(res))
		}
	}
}

func (r *runner) snapshotProgress(res *Result) Progress {
	s := r.rec.Snapshot()
	p := Progress{Elapsed: r.now().Sub(res.Started), Planned: res.Planned, InFlight: s.InFlight,
		Committed: s.Outcomes[history.OutcomeCommitted], Conflict: s.Outcomes[history.OutcomeConflict],
		Errors: s.Outcomes[history.OutcomeError] + s.Outcomes[history.OutcomeUnknown], Pending: r.delivery.Pending(),
		Rejected: s.Outcomes[history.OutcomeRejected], Unknown: s.Outcomes[history.OutcomeUnknown],
		LatencyMax:       time.Duration(s.Latency.Max()) * time.Microsecond,
		DeliveryFailures: r.delivery.Stats().Failures.Load()}
	for _, v := range s.Outcomes {
		p.Done += v
	}
	p.Started = p.Done + p.InFlight
	return p
}
