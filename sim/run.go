package sim

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"golang.org/x/sync/errgroup"

	"github.com/stormsim/stormsim/coordinator"
	"github.com/stormsim/stormsim/internal/objstore"
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
	res.Saturation = r.sat.End(r.now(), measure.Placement{Embedded: opt.Env == nil,
		CoordinatorInProcess: opt.External == nil && opt.ResultAPI == nil})
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

// start brings up the environment, the coordinator, its event delivery,
// the result API, the push subscription and the devices.
func (r *runner) start(ctx context.Context) error {
	if r.opt.ResultAPI != nil && (r.opt.Env == nil || r.opt.External != nil) {
		return errors.New("start run: a deployed result API needs the deployment's servers (Env) and its own coordinator (no External)")
	}
	r.obs = &observer{emit: r.emit, files: map[fileKey]struct{}{}, prefix: r.opt.ObjectPrefix,
		un: unreported{active: map[string]*watch{}, suspects: map[string]events.S3EventRecord{}}}
	r.counter = env.NewCounter(r.prom)
	if len(r.sc.Faults) > 0 {
		r.faults = fault.New(r.sc.Faults, r.opt.Seed, r.now, r.emit.Record)
	}
	e := r.opt.Env
	if e == nil {
		var err error
		e, err = env.NewEmbedded(env.EmbeddedOptions{
			Now:    r.now,
			Notify: func(key string, size int64) { r.delivery.Emit(r.env.Bucket, key, size, r.now()) },
			Wrap: func(h http.Handler) http.Handler {
				// Injected errors never reach S3: they are not counted.
				h = r.counter.WrapS3(h)
				h = r.sat.TimeS3(h)
				if r.faults != nil {
					h = r.faults.WrapS3(h)
				}
				return h
			},
		})
		if err != nil {
			return err
		}
	}
	r.env = e
	if k := r.sc.Storage.KeepVersions; k > 0 {
		if e.Backend == nil {
			return fmt.Errorf("storage.keep_versions %d: bounds the embedded S3 only", k)
		}
		e.Backend.SetLifecycle(objstore.Lifecycle{Prefix: r.opt.ObjectPrefix + coordinator.VersionPrefix, Keep: k})
	}
	if e.OnStaged != nil && r.opt.ResultAPI == nil {
		// Events come from the storage server (a webhook), not the wrapper.
		e.OnStaged(func(key string, size int64) { r.delivery.Emit(e.Bucket, key, size, r.now()) })
	}
	r.counter.Watch(e)
	e.Redis.AddHook(r.counter.RedisHook())
	if r.opt.Env == nil && r.opt.External == nil {
		// The embedded Redis's command times, for the saturation figures
		// (an external coordinator's blocking stream reads would skew them).
		e.Redis.AddHook(r.sat.RedisHook())
	}
	tokens := coordinator.Tokens{Secret: []byte(fmt.Sprintf("stormsim-%d", r.opt.Seed))}
	prefix := r.opt.KeyPrefix
	if prefix == "" {
		prefix = "stormsim:"
	}
	cfg := coordinator.Config{Bucket: e.Bucket, Strategy: r.sc.Coordinator.Strategy, Prefix: prefix,
		ObjectPrefix: r.opt.ObjectPrefix, LockTTL: r.sc.Coordinator.LockTTL, ResultTTL: r.sc.Coordinator.ResultTTL,
		KeepVersions: r.sc.Storage.KeepVersions, UsageStreamMaxLen: r.sc.Coordinator.UsageStreamMaxLen, Now: r.now, Observer: r.obs}
	if m := r.opt.Mutant; m != nil && m.Hooks != nil {
		cfg.Hooks = m.Hooks
	}
	if f := r.faults; f != nil {
		if f.Has(fault.RedisLockExpiry, fault.RedisFenceRollback) {
			r.obs.mu.Lock()
			r.obs.leases = map[string]fileKey{}
			r.obs.mu.Unlock()
		}
		cfg.Hooks = f.Hooks(cfg.Hooks)
		if f.Has(fault.RedisLatency, fault.RedisReplyLost) {
			e.Redis.AddHook(f.RedisHook())
		}
	}
	// The coordinator retries S3 calls itself (on top of the SDK's own
	// retries), as it would in Lambda; Redis calls are retried by go-redis
	// (see sim/env's embeddedRedisOptions).
	coord, err := coordinator.New(cfg, coordinator.NewRetryStore(e.S3, coordinator.RetryPolicy{}), e.Redis)
	if err != nil {
		return err
	}
	r.coord = coord
	h, err := r.handler(ctx)
	if err != nil {
		return err
	}
	d := r.sc.Delivery
	dc := delivery.Config{Workers: r.sc.Coordinator.Concurrency, QueueSize: d.QueueSize, Retries: r.sc.Coordinator.Retries,
		Duplicate: d.Duplicate, Reorder: d.Reorder, Seed: r.opt.Seed ^ 0xde11, OnResult: r.handlerResult,
		OnWait: r.sat.Queue.Add}
	if d.Delay.Kind != "" {
		dc.Delay = workload.DurationSampler(d.Delay)
	}
	r.delivery = delivery.New(dc, h)
	if f := r.faults; f != nil {
		t := fault.Target{Redis: e.Redis, WrappedS3: r.opt.Env == nil, Lease: r.obs.leaseOf}
		if e.MR != nil {
			t.Server = e
		}
		f.Attach(t, coord)
		r.delivery.SetFate(f.EventFate)
		r.delivery.SetDrain(r.beginDrain, r.drainSweep)
	}
	apiURL := ""
	if a := r.opt.ResultAPI; a != nil {
		apiURL, tokens = a.URL, a.Tokens
	} else if apiURL, err = r.serveAPI(cfg, tokens); err != nil {
		return err
	}
	r.push, err = traffic.NewPushHub(ctx, e.Redis, coord.PushPattern(), r.now, r.emit)
	if err != nil {
		return fmt.Errorf("subscribe to pushes: %w", err)
	}
	r.push.Degrade(r.sc.Wait, r.opt.Seed, r.pushLost())
	r.devices = &traffic.Devices{Scenario: r.sc, Seed: r.opt.Seed, Shard: r.opt.Shard, MaxInFlight: r.opt.MaxInFlight,
		Env: e, Coord: coord, API: apiURL, Tokens: tokens, Sink: r.emit, Now: r.now}
	if r.sc.Wait.Push {
		r.devices.Push = r.push
	}
	if f := r.faults; f != nil {
		r.devices.Hostile = f.Hostile
		if f.Phased() {
			r.devices.Staging = f.Staging
		}
		// Windows are relative to the run's start, which is now; the
		// reconciler sweeps for events that faults lost or killed.
		f.Begin(r.now())
		f.StartReconciler(r.delivery)
	}
	return nil
}

// handler is the event handler: the coordinator's, a mutant's, or the
// hand-off to external coordinator processes.
func (r *runner) handler(ctx context.Context) (delivery.Handler, error) {
	var h delivery.Handler = r.coord.HandleEvent
	if m := r.opt.Mutant; m != nil && m.WrapHandler != nil {
		h = m.WrapHandler(h, r.env, r.coord)
	}
	h = r.obs.wrap(h)
	if x := r.opt.External; x != nil {
		feed, err := delivery.NewFeed(ctx, r.env.Redis, *x, r.obs)
		if err != nil {
			return nil, err
		}
		h, r.feed = feed.Handle, feed
	}
	return h, nil
}

// serveAPI serves the result API and returns its base URL. The result API
// is its own service (API Gateway + Lambda in production): a stateless
// coordinator on its own S3 connection pool, so a storm of polls cannot
// take the handler's connections.
func (r *runner) serveAPI(cfg coordinator.Config, tokens coordinator.Tokens) (string, error) {
	ln, err := coordinator.Listen("")
	if err != nil {
		return "", fmt.Errorf("listen for the result API: %w", err)
	}
	apiCoord, err := coordinator.New(cfg, coordinator.NewRetryStore(r.env.APIS3, coordinator.RetryPolicy{Attempts: 2}), r.env.Redis)
	if err != nil {
		ln.Close()
		return "", err
	}
	api := apiCoord.API(tokens)
	r.api = syncx.Serve(coordinator.NewServer(api), ln)
	r.env.ServeInProcess(ln.Addr().String(), api) // the devices' polls skip loopback on embedded fakes
	return "http://" + ln.Addr().String(), nil
}

// pushLost is what loses pushes before the devices see them: a mutant
// that ignores them, push outages; nil for nothing.
func (r *runner) pushLost() func() bool {
	ignore := r.opt.Mutant != nil && r.opt.Mutant.IgnorePush
	outage := r.faults != nil && r.faults.Has(fault.PushOutage)
	if r.opt.Mutant == nil && !outage {
		return nil
	}
	return func() bool { return ignore || outage && r.faults.PushLost() }
}
