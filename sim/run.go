package sim

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"

	"fmt"
	"github.com/stormsim/stormsim/sim/metrics"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stormsim/stormsim/coordinator"
	"github.com/stormsim/stormsim/scenarios"
	"github.com/stormsim/stormsim/sim/checker"
	"github.com/stormsim/stormsim/sim/history"
	"github.com/stormsim/stormsim/sim/schedsim"
	"github.com/stormsim/stormsim/sim/workload"
)

// Options configure a run.
type Options struct {
	Scenario *scenarios.Scenario
	// Seed is the root seed (the scenario's seed unless overridden).
	Seed uint64
	// OutDir receives history.jsonl; it must exist.
	OutDir string
	// Env is the environment; nil starts the embedded fakes.
	Env *Env
	// Progress, when set, is called about once a second.
	Progress func(Progress)
	// MaxInFlight bounds concurrent uploads (default 20,000); arrivals
	// beyond it wait, and their latency counts the wait.
	MaxInFlight int
	// Mutant, when set, breaks the system on purpose (self-test only).
	Mutant *Mutant
	// CheckTimeout bounds the linearizability check (default 60s).
	CheckTimeout time.Duration
	// Registry receives the run's Prometheus metrics (serve it live with
	// promhttp); nil makes a private one. Result.Gatherer reads it back.
	Registry *prometheus.Registry
	// Shard, when N > 1, makes this process drive only the users u with
	// u % N == I: N generator processes (on one machine or several) split
	// one scenario into disjoint slices; `simrun check` merges their
	// histories. The planned rate and count are this shard's share.
	Shard Shard
	// KeyPrefix starts every Redis key of the run (default "stormsim:"), so
	// runs sharing a server never touch each other's data.
	KeyPrefix string
	// ObjectPrefix starts every S3 key of the run (default none: staging/
	// and files/ at the bucket's root); "" or ending in "/".
	ObjectPrefix string
	// External, when set, hands events to coordinator processes through a
	// shared Redis Stream instead of handling them in-process.
	External *External
	// Abort, when set, sees the progress snapshot about once a second; when
	// it says stop, the arrivals stop, uploads in flight get a few seconds
	// to finish, the drain is cut short and Result.Aborted holds the reason.
	// A scenario with abort_on_fail gets AbortOnGates of its gates.
	Abort func(Progress) (reason string, stop bool)
	// Drained, when set, runs once the drain has ended, before the
	// read-back: the environment and everything the run built are still
	// up (simrun writes --memprofile here).
	Drained func()
}

// stopGrace is how long the handlers in progress when the drain ends may
// take to finish before they are cancelled (Delivery.Stop).
const stopGrace = 30 * time.Second

// Shard is slice I of N of a scenario's users.
type Shard struct{ I, N int }

// owns reports whether the shard drives user u.
func (s Shard) owns(u int) bool { return s.N <= 1 || u%s.N == s.I }

// Progress is a snapshot for a progress display.
type Progress struct {
	Elapsed          time.Duration
	Planned, Started int64
	Done, InFlight   int64
	Committed        int64
	Conflict         int64
	Errors           int64 // outcomes error and unknown
	Pending          int64 // events not yet handled
	Rejected         int64
	Unknown          int64         // outcomes unknown (also in Errors)
	LatencyMax       time.Duration // the slowest known outcome so far
	// DeliveryFailures counts failed handler invocations so far.
	DeliveryFailures int64
}

// Result is everything a run measured; package report renders it.
type Result struct {
	Scenario     string
	Seed         uint64
	WorkloadHash string
	Strategy     string
	Started      time.Time
	Elapsed      time.Duration // whole run including the drain
	Window       time.Duration // the arrival window
	Planned      int64
	PlannedRate  float64
	Launched     int64
	Measure      Snapshot
	Delivery     DeliveryCounts
	Check        checker.Report
	Interrupted  bool
	// Aborted is why Options.Abort stopped the run ("" when it did not).
	Aborted      string
	DrainTimeout bool
	// External says why events handed to coordinator processes
	// (Options.External) were not finished in time ("" when all were).
	External     string
	HistoryLines int64
	Decisions    map[string]int64
	Harness      HarnessUse
	Ops          OpCounts
	// Gatherer holds the run's Prometheus metrics (for metrics.prom).
	Gatherer prometheus.Gatherer
	// Scheduler is the wall-clock scheduler run beside the uploads, when the
	// scenario has both.
	Scheduler *schedsim.Result
	// Memory samples the process's memory over the load and the drain,
	// with the live heap split between the harness and the embedded fakes.
	Memory []MemSample
	// StoredBytes is what the bucket holds under the run's prefix at the
	// end (in memory, for the embedded fake).
	StoredBytes int64
	// HandlerSeconds is the time spent in handler invocations (for the
	// GB-second cost estimate).
	HandlerSeconds float64
	// Saturation is the harness's own lag over the load and the drain.
	Saturation Saturation
}

// DeliveryCounts are the delivery's counters at the end (results.json
// harness.delivery, hence the tags).
type DeliveryCounts struct {
	Emitted     int64 `json:"emitted"`
	Duplicated  int64 `json:"duplicated"`
	Reordered   int64 `json:"reordered"`
	Dropped     int64 `json:"dropped"`
	Invocations int64 `json:"invocations"`
	Failures    int64 `json:"failures"`
	Retries     int64 `json:"retries"`
	Dead        int64 `json:"dead"`
}

type arrival struct {
	id, user, device, path string
	phase                  string
	fileIndex              int
	size                   int64
	stale                  int
	contentSeed            uint64
	intended               time.Time
	// after, for a follow-on edit, is closed when the device's previous
	// upload (of the same file) has ended: the edit starts from the head
	// that upload taught it.
	after    <-chan struct{}
	slotWait time.Duration // waited for an in-flight slot (MaxInFlight)
}

type runConfig struct {
	push               bool
	firstDelay         time.Duration
	autoFirst          bool
	pollInterval       time.Duration
	maxInterval        time.Duration
	backoff            float64
	maxPolls           int
	pollTimeout        time.Duration
	multipartThreshold int64
	partSize           int64
}

type runner struct {
	opt       Options
	sc        *scenarios.Scenario
	cfg       runConfig
	env       *Env
	coord     *coordinator.Coordinator
	delivery  *Delivery
	push      *pushHub
	hist      *history.Writer
	rec       *Recorder
	heads     *heads
	est       *estimator
	tokens    coordinator.Tokens
	apiURL    string
	now       func() time.Time
	multipart chan struct{}
	metrics   *runMetrics
	prom      *metrics.Set

	handlerNanos atomic.Int64
	sat          *saturationMeter
	abandoned    map[string]string // Delivery.Abandoned, for the read-back
	obs          *observer
	stopAPI      func()
	stopExternal func() // External: stops the feedback reader
	external     *externalHandler

	// uploadCtx ends uploads in flight; the arrival loops get their own
	// context so that an abort stops arrivals without cutting uploads off.
	uploadCtx context.Context
	aborted   atomic.Pointer[string]
}

// Run executes a scenario and checks its history. A cancelled ctx stops the
// arrivals, drains briefly and returns a partial result (Interrupted set).
func Run(ctx context.Context, opt Options) (*Result, error) {
	sc := opt.Scenario
	if opt.MaxInFlight <= 0 {
		opt.MaxInFlight = 20000
	}
	if opt.CheckTimeout <= 0 {
		opt.CheckTimeout = 60 * time.Second
	}
	if opt.Abort == nil && sc.AbortOnFail {
		opt.Abort = AbortOnGates(sc.ParsedGates)
	}
	hf, err := os.Create(filepath.Join(opt.OutDir, "history.jsonl"))
	if err != nil {
		return nil, fmt.Errorf("create history: %w", err)
	}
	defer hf.Close()
	r := &runner{opt: opt, sc: sc, now: time.Now, hist: history.NewWriter(hf), est: newEstimator(),
		multipart: make(chan struct{}, 16), sat: newSaturationMeter()}
	r.cfg = configFrom(sc)
	if opt.Registry == nil {
		opt.Registry = prometheus.NewRegistry()
	}
	r.prom = metrics.New(opt.Registry)
	r.heads = newHeads(sc.Population.Users * sc.Population.FilesPerUser)
	res := &Result{Scenario: sc.Name, Seed: opt.Seed, Strategy: string(sc.Coordinator.Strategy), Gatherer: opt.Registry}
	res.WorkloadHash = workload.Hash(sc, opt.Seed)

	if err := r.start(ctx); err != nil {
		return nil, err
	}
	defer r.stop()

	res.Started = r.now()
	r.sat.begin(res.Started)
	r.rec = newRecorder(res.Started)
	mem := startMemSampler(res.Started, 2*time.Second, r.rec.total.Load)
	defer mem.stop()
	plan := workload.NewPlan(sc, opt.Seed)
	res.Planned, _ = plan.PlannedCount()
	res.PlannedRate = plan.PlannedRate()
	if opt.Shard.N > 1 && sc.Model != "closed" {
		// This shard's share of the plan, counted on a second pass (the
		// plan streams, so this costs time, not memory).
		var mine int64
		for p := workload.NewPlan(sc, opt.Seed); ; {
			a, ok := p.Next()
			if !ok {
				break
			}
			if opt.Shard.owns(a.User) {
				mine++
			}
		}
		if res.Planned > 0 {
			res.PlannedRate *= float64(mine) / float64(res.Planned)
		}
		res.Planned = mine
	}

	stopSched := r.schedulerBeside(ctx, res)
	actx, stopArrivals := context.WithCancel(ctx)
	defer stopArrivals()
	uctx, stopUploads := context.WithCancel(ctx)
	defer stopUploads()
	r.uploadCtx = uctx
	grace := time.AfterFunc(time.Hour, stopUploads)
	grace.Stop()
	defer grace.Stop()
	stopProgress := r.progress(ctx, res, func() { stopArrivals(); grace.Reset(abortGrace) })
	var launched int64
	var window time.Duration
	if sc.Model == "closed" {
		launched, window = r.generateClosed(actx, plan, res.Started)
	} else {
		launched, window = r.generate(actx, plan, res.Started)
	}
	res.Launched, res.Window = launched, window
	res.Interrupted = ctx.Err() != nil
	if why := r.aborted.Load(); why != nil {
		res.Aborted = *why
	}

	drain := sc.Drain
	if res.Interrupted || res.Aborted != "" {
		drain = min(drain, abortGrace)
	}
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), drain)
	res.DrainTimeout = r.drain(dctx) != nil
	cancel()
	stopProgress()
	stopSched()
	res.Memory = mem.stop()
	res.Saturation = r.sat.end(r.now(), opt.Env == nil)
	if opt.Drained != nil {
		opt.Drained()
	}
	res.Elapsed = r.now().Sub(res.Started)
	res.Measure = r.rec.Snapshot()
	res.Decisions = r.obs.counts()

	// Stop the handlers before reading back: after a drain timeout they
	// would otherwise keep committing while the final state is read, and
	// the read-back would contradict decisions made after it.
	// Stop taking events but let the invocations in progress finish (a
	// handler cut mid-commit would leave a state no system ever reaches,
	// and the read-back would report it as lost); only past stopGrace are
	// they cancelled.
	r.delivery.Stop(stopGrace)
	r.delivery.Close()
	r.abandoned = r.delivery.Abandoned()
	res.Delivery = r.delivery.counts()
	if r.external != nil {
		res.External = r.external.diagnosis()
	}
	// Calls per upload are the run's: the read-back below (finals,
	// conflicted copies, stored results) is the harness checking, not load.
	res.Ops = r.ops()
	r.readBack(context.WithoutCancel(ctx))
	res.StoredBytes = r.storedBytes(context.WithoutCancel(ctx))
	if err := r.hist.Flush(); err != nil {
		return res, err
	}
	res.HistoryLines = r.hist.Lines()
	res.Harness = measureHarness(res.Elapsed)
	res.HandlerSeconds = time.Duration(r.handlerNanos.Load()).Seconds()

	rep, err := checker.CheckFile(hf.Name(), checker.Options{LinearizabilityTimeout: opt.CheckTimeout,
		Fencing: sc.Coordinator.Strategy != coordinator.StrategyS3Conditional})
	if err != nil {
		return res, fmt.Errorf("check history: %w", err)
	}
	res.Check = rep
	return res, nil
}

func configFrom(sc *scenarios.Scenario) runConfig {
	p := sc.Wait.Poll
	c := runConfig{push: sc.Wait.Push, firstDelay: p.FirstDelayFixed, autoFirst: p.FirstDelay == "auto" || p.FirstDelay == "",
		pollInterval: p.Interval, maxInterval: p.MaxInterval, backoff: p.Backoff, maxPolls: p.MaxPolls,
		pollTimeout: p.Timeout, multipartThreshold: sc.Sizes.MultipartThreshold, partSize: sc.Sizes.PartSize}
	if c.pollInterval <= 0 {
		c.pollInterval = 100 * time.Millisecond
	}
	if c.maxInterval < c.pollInterval {
		c.maxInterval = c.pollInterval
	}
	if c.backoff < 1 {
		c.backoff = 1
	}
	if c.pollTimeout <= 0 {
		c.pollTimeout = 30 * time.Second
	}
	if c.multipartThreshold <= 0 {
		c.multipartThreshold = 8 << 20
	}
	if c.partSize < 5<<20 {
		c.partSize = 5 << 20
	}
	return c
}

// generate launches the planned arrivals at their instants (open model)
// and waits for every upload to end or ctx to stop the arrivals.
func (r *runner) generate(ctx context.Context, plan *workload.Plan, start time.Time) (int64, time.Duration) {
	sem := make(chan struct{}, r.opt.MaxInFlight)
	var wg sync.WaitGroup
	var launched int64
	var last time.Duration
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	names := newNamer(r.opt.Seed, r.sc)
	chain := newDeviceChain(r.sc)
loop:
	for {
		a, ok := plan.Next()
		if !ok {
			break
		}
		if !r.opt.Shard.owns(a.User) {
			continue
		}
		last = a.At
		if d := time.Until(start.Add(a.At)); d > 0 {
			timer.Reset(d)
			select {
			case <-ctx.Done():
				break loop
			case <-timer.C:
			}
		}
		// The clock is read only when no slot is free: a wait for one is
		// the system's backlog, not the harness's launch lag.
		var slotWait time.Duration
		select {
		case sem <- struct{}{}:
		default:
			waited := time.Now()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				break loop
			}
			slotWait = time.Since(waited)
		}
		arr := names.arrival(a, start)
		arr.slotWait = slotWait
		done := chain.link(&arr, a)
		launched++
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if done != nil {
				defer close(done)
			}
			r.upload(r.uploadCtx, arr)
		}()
	}
	wg.Wait()
	return launched, last
}

// generateClosed runs each closed-model device in a loop: upload, learn
// the outcome, think, until its iterations, the duration or the upload cap
// end it.
func (r *runner) generateClosed(ctx context.Context, plan *workload.Plan, start time.Time) (int64, time.Duration) {
	var launched atomic.Int64
	var wg sync.WaitGroup
	names := newNamer(r.opt.Seed, r.sc)
	for d := range r.sc.Closed.Devices {
		if u, _ := workload.ClosedDevice(r.sc, d); !r.opt.Shard.owns(u) {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				a, ok := plan.NextFor(d)
				if !ok {
					return
				}
				sleepCtx(ctx, a.At)
				if ctx.Err() != nil || r.sc.Duration > 0 && time.Since(start) >= r.sc.Duration {
					return
				}
				if n := launched.Add(1); r.sc.Uploads > 0 && n > r.sc.Uploads {
					launched.Add(-1)
					return
				}
				a.At = time.Since(start) // closed model: the intended instant is now
				r.upload(r.uploadCtx, names.arrival(a, start))
			}
		}()
	}
	wg.Wait()
	return launched.Load(), time.Since(start)
}

// drain waits for the delivery to empty (late and retried events).
func (r *runner) drain(ctx context.Context) error {
	return r.delivery.Wait(ctx)
}

// progress calls Options.Progress and Options.Abort about once a second;
// abort runs once, when Abort says stop.
func (r *runner) progress(ctx context.Context, res *Result, abort func()) (stop func()) {
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

// heads is each file's latest version as the devices know it: what a sync
// client would hold after its pushes.
type heads struct{ v []atomic.Int64 }

func newHeads(n int) *heads      { return &heads{v: make([]atomic.Int64, max(n, 1))} }
func (h *heads) get(i int) int64 { return h.v[i].Load() }
func (h *heads) learn(i int, version int64) {
	for {
		old := h.v[i].Load()
		if version <= old || h.v[i].CompareAndSwap(old, version) {
			return
		}
	}
}

// estimator predicts when an upload's decision will be ready from recent
// processing times, so polls are not wasted. Decisions pull the estimate
// towards what they took; a "pending" answer at age a proves the current
// processing time exceeds a and pushes the estimate up at once, which is
// what keeps a burst's backlog from turning into a storm of polls.
type estimator struct{ ns atomic.Int64 }

func newEstimator() *estimator {
	e := &estimator{}
	e.ns.Store(int64(50 * time.Millisecond))
	return e
}

func (e *estimator) observe(d time.Duration) {
	for {
		old := e.ns.Load()
		if e.ns.CompareAndSwap(old, old+(int64(d)-old)/16) {
			return
		}
	}
}

func (e *estimator) pending(age time.Duration) {
	for {
		old := e.ns.Load()
		// A quarter of the way towards the age, not all of it: one upload
		// stuck for a reason of its own (a lost event the reconciler will
		// find) must not make every other device wait for seconds.
		if int64(age) <= old || e.ns.CompareAndSwap(old, old+(int64(age)-old)/4) {
			return
		}
	}
}

func (e *estimator) get() time.Duration { return time.Duration(e.ns.Load()) }

// firstPoll waits for the typical decision time plus the time to read the
// content back for its checksum (at about 200 MB/s).
func (e *estimator) firstPoll(size int64) time.Duration {
	return time.Duration(float64(e.get())*1.25) + time.Duration(size/200)*time.Microsecond
}

// nextPoll is the wait after a pending answer at age: the backoff schedule,
// or longer when the estimate says the decision is further away.
func (e *estimator) nextPoll(age, interval time.Duration) time.Duration {
	return max(interval, time.Duration(float64(e.get())*1.25)-age)
}

// namer turns planned arrivals into names and ids.
type namer struct {
	sc    *scenarios.Scenario
	idKey uint64
}

func newNamer(seed uint64, sc *scenarios.Scenario) *namer {
	return &namer{sc: sc, idKey: rand.New(rand.NewPCG(seed, 0x1d)).Uint64()}
}

func (n *namer) arrival(a workload.Arrival, start time.Time) arrival {
	p := n.sc.Population
	return arrival{
		id:          fmt.Sprintf("%016x-%08x", n.idKey, a.Seq),
		user:        fmt.Sprintf("u%05d", a.User),
		device:      fmt.Sprintf("dev%02d", a.Device),
		path:        filePath(a.File, p.HotFiles),
		phase:       a.Phase,
		fileIndex:   a.User*p.FilesPerUser + a.File,
		size:        a.Size,
		stale:       a.Stale,
		contentSeed: a.ContentSeed,
		intended:    start.Add(a.At),
	}
}

var exts = []string{".txt", ".docx", ".jpg", ".pdf", ""}

func filePath(file, hot int) string {
	if file < hot {
		return fmt.Sprintf("shared/hot-%d%s", file, exts[file%len(exts)])
	}
	return fmt.Sprintf("docs/file-%04d%s", file, exts[file%len(exts)])
}

// BesideScale is how much faster than real time a scheduler runs beside an
// upload workload: its rule's minute lasts one wall second, so a short load
// run still sees many re-arms. Lateness is reported in those scaled units
// (multiply by 60 for scheduler seconds).
const BesideScale = 60

// schedulerBeside runs the scenario's scheduler on the wall clock during
// the upload run (the same scheduler code as in virtual time), writing its
// sched records into the same history. The returned stop waits for it.
func (r *runner) schedulerBeside(ctx context.Context, res *Result) func() {
	s := r.sc.Scheduler
	if s == nil {
		return func() {}
	}
	cfg, err := SchedConfig(s, r.opt.Seed)
	if err != nil {
		r.rec.errorKind("scheduler")
		return func() {}
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
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer closeRedis()
		out, err := schedsim.Run(ctx, cfg, func(h history.Sched) { _ = r.hist.Write(h) })
		if err != nil {
			r.rec.errorKind("scheduler")
			return
		}
		res.Scheduler = &out
	}()
	return func() { <-done }
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
