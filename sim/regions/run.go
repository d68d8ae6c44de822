package regions

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/stormsim/stormsim/region"
	"github.com/stormsim/stormsim/scenarios"
	"github.com/stormsim/stormsim/sim/checker"
	"github.com/stormsim/stormsim/sim/env"
	"github.com/stormsim/stormsim/sim/history"
	"github.com/stormsim/stormsim/sim/workload"
)

// Options configure a multi-region run.
type Options struct {
	Scenario *scenarios.Scenario
	Seed     uint64
	OutDir   string // history.jsonl is written here
	// Hooks, when set, break the replicators on purpose (self-test).
	Hooks *region.Hooks
	// CheckTimeout is the linearizability budget (0: the checker's default).
	CheckTimeout time.Duration
}

// Result is what a multi-region run measured.
type Result struct {
	Scenario     string
	Seed         uint64
	WorkloadHash string
	Started      time.Time
	Elapsed      time.Duration
	Planned      int64
	PlannedRate  float64       // arrivals per second the plan asked for
	Window       time.Duration // the arrival window
	Launched     int64
	Refused      int64 // uploads whose home region was unreachable
	DrainTimeout bool
	Interrupted  bool // the context ended before the run did
	HistoryLines int64
	// StageDead and ReplicationDead count events whose retries ran out;
	// ReplicationDuplicated counts events the queue delivered twice.
	StageDead, ReplicationDead, ReplicationDuplicated int64
	Reconciled                                        int // staged uploads decided by the drain's sweep
	// The usage priced (report prices it per region): S3 requests served
	// by every region until the drain ended (the read-back excluded),
	// handler invocations and seconds of every region's coordinator and
	// replicator, and RunElapsed, how long each region's Redis ran for the
	// system (start to the end of the drain).
	S3Ops          map[string]int64
	Invocations    int64
	HandlerSeconds float64
	RunElapsed     time.Duration
	Check          checker.Report
	Regions        Measures
	// History is the run's history, as read back from history.jsonl.
	History *history.Set
}

// run is one multi-region run in progress.
type run struct {
	sc      *scenarios.Scenario
	net     *network
	sites   []*site
	clients [][]*s3.Client // [from][to]
	rec     *recorder
	start   time.Time
	home    []int // each user's home region

	queueFaults               *active
	pollTimeout, pollInterval time.Duration
	refused, crossBytes       atomic.Int64
	count                     *env.Counter // every region's S3 requests
	devices                   sync.WaitGroup
}

// ErrNoRegions is returned for a scenario without a regions section.
var ErrNoRegions = errors.New("scenario has no regions section")

// Run drives the scenario's uploads over its regions, drains, reads every
// region back and checks the history.
func Run(ctx context.Context, opt Options) (*Result, error) {
	sc := opt.Scenario
	if sc == nil || sc.Regions == nil {
		return nil, fmt.Errorf("run regions: %w", ErrNoRegions)
	}
	if err := os.MkdirAll(opt.OutDir, 0o755); err != nil {
		return nil, fmt.Errorf("run regions: %w", err)
	}
	hpath := filepath.Join(opt.OutDir, "history.jsonl")
	f, err := os.Create(hpath)
	if err != nil {
		return nil, fmt.Errorf("run regions: %w", err)
	}
	defer f.Close()
	w := history.NewWriter(f)
	r := &run{sc: sc, net: newNetwork(sc.Regions), rec: newRecorder(w), count: env.NewCounter(nil),
		queueFaults: &active{on: map[int]bool{}, specs: sc.Regions.Faults}}
	r.pollInterval, r.pollTimeout = PollSchedule(sc)
	defer r.net.mux.Close()
	streams := workload.NewStreams(opt.Seed)
	if err := r.build(opt, streams); err != nil {
		return nil, err
	}
	defer r.close()
	homes := Homes(sc, streams.New(HomesStream))
	r.home = homes
	subs, err := r.subscribe(ctx)
	if err != nil {
		return nil, err
	}
	res := &Result{Scenario: sc.Name, Seed: opt.Seed, WorkloadHash: workload.Hash(sc, opt.Seed)}
	plan := workload.NewPlan(sc, opt.Seed)
	res.Planned, _ = plan.PlannedCount()
	res.PlannedRate, res.Window = plan.PlannedRate(), plan.PlannedWindow()
	r.start = time.Now()
	res.Started = r.start
	faults := r.startFaults(ctx)
	stopSweep := r.sweep(ctx)
	res.Launched = r.launch(ctx, plan, homes)
	r.devices.Wait()
	stopSweep()
	res.DrainTimeout = !r.drain(ctx, res)
	faults.stop()
	// The usage priced is the system's, before the harness reads every
	// region back.
	res.S3Ops = r.count.Counts().S3
	res.RunElapsed = time.Since(r.start)
	r.readBack(ctx, homes)
	subs.stop()
	for _, s := range r.sites {
		res.StageDead += s.stage.dead.Load()
		res.ReplicationDead += s.repl.dead.Load()
		res.ReplicationDuplicated += s.repl.dups.Load()
		for _, q := range []*queue{s.stage, s.repl} {
			res.Invocations += q.invocations.Load()
			res.HandlerSeconds += time.Duration(q.busyNanos.Load()).Seconds()
		}
	}
	r.close()
	res.Elapsed = time.Since(r.start)
	res.Refused = r.refused.Load()
	res.Interrupted = ctx.Err() != nil
	if err := w.Flush(); err != nil {
		return nil, err
	}
	res.HistoryLines = w.Lines()
	set, err := history.ReadFiles(hpath)
	if err != nil {
		return nil, err
	}
	res.History = set
	res.Check = checker.Check(set, checker.Options{Fencing: true, LinearizabilityTimeout: opt.CheckTimeout})
	res.Regions = Measure(set, sc.Regions)
	res.Regions.UploadCrossBytes = r.crossBytes.Load()
	return res, nil
}

// build starts every region and its replicator.
func (r *run) build(opt Options, streams *workload.Streams) error {
	rg := r.sc.Regions
	for i := range rg.List {
		s, err := newSite(r.net, i, r.sc, r.rec, r.count)
		if err != nil {
			r.close()
			return err
		}
		r.sites = append(r.sites, s)
	}
	n := len(r.sites)
	r.clients = make([][]*s3.Client, n)
	for i := range n {
		r.clients[i] = make([]*s3.Client, n)
		for j := range n {
			r.clients[i][j] = r.net.client(i, j)
		}
	}
	fate := r.queueFate(streams.New(ReplicationStream))
	for i, s := range r.sites {
		var targets []region.Target
		for j, t := range r.sites {
			if j != i {
				targets = append(targets, region.Target{Name: t.name, Store: r.clients[i][j], Bucket: bucket,
					Notify: r.publisher(i, j)})
			}
		}
		rep, err := region.New(region.Config{Home: s.name, Source: s.local, Bucket: bucket,
			Attempts: rg.Replication.Attempts, Backoff: rg.Replication.Backoff, Now: time.Now,
			Observer: observer{r.rec, s.name}, Hooks: opt.Hooks}, targets)
		if err != nil {
			r.close()
			return err
		}
		s.repl = newQueue(rg.Replication.QueueSize, rg.Replication.Concurrency, 0, 0,
			func(ctx context.Context, key string) error { return rep.Handle(ctx, s3Event(key)) })
		s.repl.fate = fate
	}
	return nil
}

// publisher is how region from's replicator notifies devices in region
// to: a PUBLISH on to's Redis, across the network.
func (r *run) publisher(from, to int) region.Publisher {
	return region.PublishFunc(func(ctx context.Context, ch string, msg []byte) error {
		if err := r.net.wait(ctx, from, to); err != nil {
			return err
		}
		if err := r.net.reachable(from, to); err != nil {
			return err
		}
		return r.sites[to].rdb.Publish(ctx, ch, msg).Err()
	})
}

func (r *run) device(user, dev, file int, homes []int) device {
	return device{user: fmt.Sprintf("u%05d", user), name: fmt.Sprintf("u%05d-d%02d", user, dev),
		path: fmt.Sprintf("f%03d.txt", file), at: DeviceRegion(r.sc.Regions, dev), home: homes[user]}
}

// launch starts each planned upload at its instant (open model) and
// returns how many started.
func (r *run) launch(ctx context.Context, plan *workload.Plan, homes []int) int64 {
	var n int64
	for {
		a, ok := plan.Next()
		if !ok {
			return n
		}
		if wait := time.Until(r.start.Add(a.At)); wait > 0 {
			select {
			case <-ctx.Done():
				return n
			case <-time.After(wait):
			}
		}
		n++
		d := r.device(a.User, a.Device, a.File, homes)
		r.devices.Add(1)
		go func() {
			defer r.devices.Done()
			r.upload(ctx, d, a)
		}()
	}
}

// drain waits for every region's queues to empty, sweeps staged uploads
// whose events ran out of retries (the coordinator's Reconcile), and waits
// again; false when the scenario's drain time ran out first.
func (r *run) drain(ctx context.Context, res *Result) bool {
	deadline := time.Now().Add(max(r.sc.Drain, 10*time.Second))
	for round := 0; round < 2; round++ {
		if !r.waitIdle(ctx, deadline) {
			return false
		}
		for _, s := range r.sites {
			n, err := s.coord.Reconcile(ctx, 0)
			if err == nil {
				res.Reconciled += n
			}
		}
	}
	return r.waitIdle(ctx, deadline)
}

func (r *run) waitIdle(ctx context.Context, deadline time.Time) bool {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		idle := true
		for _, s := range r.sites {
			idle = idle && s.stage.idle() && s.repl.idle()
		}
		if idle {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
		}
	}
}

func (r *run) close() {
	for _, s := range r.sites {
		s.close()
	}
	r.sites = r.sites[:0:0]
}

// Sweep period and age of the coordinators' reconcile sweep during the
// run: as a scheduled function would run it in each region, scaled to a
// run of seconds (production: minutes).
const (
	sweepEvery = time.Second
	sweepAge   = 3 * time.Second
)

// sweep runs every region's Reconcile periodically until stop is called,
// so an upload whose event ran out of retries is decided while its device
// still waits.
func (r *run) sweep(ctx context.Context) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(sweepEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				for _, s := range r.sites {
					_, _ = s.coord.Reconcile(ctx, sweepAge)
				}
			}
		}
	}()
	return func() { cancel(); wg.Wait() }
}
