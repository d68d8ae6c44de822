package sim

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/stormsim/stormsim/coordinator"
	"github.com/stormsim/stormsim/internal/objstore"
	"github.com/stormsim/stormsim/internal/syncx"
	"github.com/stormsim/stormsim/sim/delivery"
	"github.com/stormsim/stormsim/sim/env"
	"github.com/stormsim/stormsim/sim/fault"
	"github.com/stormsim/stormsim/sim/metrics"
	"github.com/stormsim/stormsim/sim/traffic"
	"github.com/stormsim/stormsim/sim/workload"
)

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
		KeepVersions: r.sc.Storage.KeepVersions, Now: r.now, Observer: r.obs}
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

func (r *runner) stop() {
	if r.faults != nil {
		r.faults.Close() // restarts Redis after an outage
	}
	if r.push != nil {
		r.push.Close()
	}
	if r.api != nil {
		if err := r.api.Close(); err != nil {
			log.Printf("result API: %v", err)
		}
	}
	if r.delivery != nil {
		r.delivery.Close()
	}
	if r.feed != nil {
		r.feed.Close()
	}
	if r.opt.Env == nil && r.env != nil {
		r.env.Close()
	}
}

// beginDrain lifts the faults when the drain begins (Delivery.SetDrain):
// it runs in the run's goroutine, after the recorder exists.
func (r *runner) beginDrain() {
	r.rec.SetFaults(r.faults.Lift(r.rec.Start()))
}

// drainSweep is the reconciler's sweep at the drain: every staged object,
// whatever its age.
func (r *runner) drainSweep(ctx context.Context) (int, error) {
	n, err := r.faults.Reconcile(ctx, 0)
	r.rec.SetReconciled(r.faults.Reconciled())
	return n, err
}

// handlerResult counts one handler invocation by how it ended.
func (r *runner) handlerResult(err error, willRetry bool, took time.Duration) {
	r.handlerNanos.Add(int64(took))
	switch {
	case err == nil:
		r.emit.Handled(metrics.HandlerOK)
	case errors.Is(err, coordinator.ErrCrash):
		r.emit.Handled(metrics.HandlerCrash)
	case willRetry:
		r.emit.Handled(metrics.HandlerRetry)
	default:
		r.emit.Handled(metrics.HandlerError)
	}
}
