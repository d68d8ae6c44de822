package fault

import (
	"context"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/redis/go-redis/v9"

	"github.com/stormsim/stormsim/coordinator"
	"github.com/stormsim/stormsim/internal/syncx"
	"github.com/stormsim/stormsim/scenarios"
	"github.com/stormsim/stormsim/sim/delivery"
	"github.com/stormsim/stormsim/sim/env"
	"github.com/stormsim/stormsim/sim/history"
	"github.com/stormsim/stormsim/sim/measure"
	"github.com/stormsim/stormsim/sim/workload"
)

// Fault kinds (scenarios.FaultKinds describes them; README.md and
// scenarios/scenario.go say what each does to the run).
const (
	S3Error        = "s3-error"
	S3Latency      = "s3-latency"
	RedisLatency   = "redis-latency"
	RedisOutage    = "redis-outage"
	RedisLockLoss  = "redis-lock-loss"
	RedisClockJump = "redis-clock-jump"
	HandlerCrash   = "handler-crash"
	HandlerPause   = "handler-pause"
	EventDelay     = "event-delay"
	EventDuplicate = "event-duplicate"
	EventReorder   = "event-reorder"
	EventDrop      = "event-drop"
	PushOutage     = "push-outage"
	HostileUpload  = "hostile-upload"
	// RedisLockExpiry and RedisFenceRollback act on one
	// handler's own lock at a step (see scenarios.Fault).
	RedisLockExpiry    = "redis-lock-expiry"
	RedisFenceRollback = "redis-fence-rollback"
)

// Reconciler settings of a run with faults: a sweep every second handles
// staged objects older than reconcileAge, far above the normal decision
// time (milliseconds) yet well inside the devices' poll timeout.
const (
	reconcileEvery = time.Second
	reconcileAge   = 5 * time.Second
	// reorderHold bounds how long a reordered event is held back.
	reorderHold = time.Second
)

// Set injects a scenario's faults. Windows [start, end) are relative
// to the run's start; end 0 lasts until the drain. The drain lifts every
// fault (Delivery.SetDrain), so the drain, the reconciler's last sweep and
// the read-back run against a healthy system. Randomness comes from the
// seed's "faults" stream.
type Set struct {
	specs    []scenarios.Fault
	hist     *history.Writer
	now      func() time.Time
	active   []atomic.Bool
	injected []atomic.Int64
	hostileN atomic.Uint64

	// Set by Attach, before Begin; read-only afterwards.
	target    Target
	coord     *coordinator.Coordinator
	pauseStep string
	// lease names the file whose lock an upload holds (from the fence
	// records); set when a fault acts on a handler's own lock.
	lease func(id string) (user, path string, ok bool)
	skip  []string // why spec i cannot run here ("" = it can)

	mu      sync.Mutex // guards everything below
	rng     *rand.Rand
	origin  time.Time
	from    []time.Time // when window i began (zero until then)
	done    []bool      // window i ended and was recorded
	spans   []measure.FaultSpan
	spanIdx []int // the window of each span
	outages int   // redis-outage windows active
	lifted  bool

	stop       chan struct{} // closed by lift: the timeline and the periodic reconciler end
	wg         sync.WaitGroup
	sweeps     sync.WaitGroup // the periodic reconciler
	closeOnce  sync.Once
	cancel     context.CancelFunc // of the reconciler's passes
	reconciled atomic.Int64       // staged objects the reconciler handled
}

func New(specs []scenarios.Fault, seed uint64, now func() time.Time, hist *history.Writer) *Set {
	return &Set{specs: specs, hist: hist, now: now, active: make([]atomic.Bool, len(specs)),
		injected: make([]atomic.Int64, len(specs)), skip: make([]string, len(specs)), from: make([]time.Time, len(specs)), done: make([]bool, len(specs)),
		rng: workload.NewStreams(seed).New(workload.StreamFaults), stop: make(chan struct{})}
}

// has reports whether the scenario has a fault of one of kinds.
func (f *Set) Has(kinds ...string) bool {
	for _, s := range f.specs {
		for _, k := range kinds {
			if s.Kind == k {
				return true
			}
		}
	}
	return false
}

// RedisServer is what outages and clock jumps need of an environment: a
// Redis server the harness runs itself (the embedded one), which it can
// stop, restart with its data and move forward in time.
type RedisServer interface {
	StopRedis()
	RestartRedis() error
	JumpRedisClock(d time.Duration)
}

// Target is what the faults act on.
type Target struct {
	Redis redis.UniversalClient
	// Server is the environment's own Redis server; nil when it has none
	// (real servers), and the faults that need one are skipped.
	Server RedisServer
	// WrappedS3 says the run serves S3 itself and put WrapS3 in front of
	// it; S3 faults need that.
	WrappedS3 bool
	// Lease names the file whose lock upload id took last (from the fence
	// records), for the faults that act on a handler's own lock; nil
	// without such faults.
	Lease func(id string) (user, path string, ok bool)
}

// Attach connects the faults to what they act on and the coordinator, and
// notes the kinds the target cannot take: S3 faults need the S3 wrapped by
// the run, an outage and a clock jump need a Redis server of the harness's
// own. Skipped windows are reported with a zero width and a reason.
func (f *Set) Attach(t Target, coord *coordinator.Coordinator) {
	f.target, f.coord, f.lease = t, coord, t.Lease
	f.pauseStep = coordinator.StepAfterLock
	if coord.Strategy() == coordinator.StrategyS3Conditional {
		f.pauseStep = coordinator.StepAfterRead // no lock: pause before the decision
	}
	for i, s := range f.specs {
		switch s.Kind {
		case S3Error, S3Latency:
			if !t.WrappedS3 {
				f.skip[i] = "needs the embedded S3"
			}
		case RedisOutage, RedisClockJump:
			if t.Server == nil {
				f.skip[i] = "needs the embedded Redis"
			}
		}
	}
}

// RedisHook adds the redis-latency fault to the client it is added to.
func (f *Set) RedisHook() redis.Hook { return redisHook{f} }

// Reconciled is the number of staged objects the reconciler handled.
func (f *Set) Reconciled() int64 { return f.reconciled.Load() }

// ClockJumps is how far the clock-jump faults move the Redis clock in all
// (zero where they cannot run).
func (f *Set) ClockJumps() time.Duration {
	var d time.Duration
	for i, s := range f.specs {
		if s.Kind == RedisClockJump && f.skip[i] == "" {
			d += s.Jump
		}
	}
	return d
}

// fire reports whether an active window of kind fires now (its
// probability), counting the injection. It returns the window.
func (f *Set) fire(kind string, match func(s *scenarios.Fault) bool) (*scenarios.Fault, bool) {
	for i := range f.specs {
		s := &f.specs[i]
		if s.Kind != kind || !f.active[i].Load() || match != nil && !match(s) {
			continue
		}
		if s.Probability < 1 {
			f.mu.Lock()
			x := f.rng.Float64()
			f.mu.Unlock()
			if x >= s.Probability {
				continue
			}
		}
		f.injected[i].Add(1)
		return s, true
	}
	return nil, false
}

// wrapS3 puts S3 errors and latency in front of the fake S3. Only the
// system under test's requests (the handler's and the result API's) are
// affected: a device whose staging PUT fails has nothing to wait for, and
// the faults are about how the coordinator copes.
func (f *Set) WrapS3(next http.Handler) http.Handler {
	if !f.Has(S3Error, S3Latency) {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		switch req.Header.Get(env.ClientHeader) {
		case env.ClientCoordinator, env.ClientAPI:
		default:
			next.ServeHTTP(w, req)
			return
		}
		if s, ok := f.fire(S3Latency, nil); ok {
			syncx.Sleep(req.Context(), s.Latency)
		}
		if s, ok := f.fire(S3Error, nil); ok {
			writeS3Error(w, req, s.Code)
			return
		}
		next.ServeHTTP(w, req)
	})
}

// writeS3Error answers as S3 does when it sheds load (503 SlowDown) or
// fails (500 InternalError). The request body is read first, as a server
// that fails late would, so the client's connection stays usable.
func writeS3Error(w http.ResponseWriter, req *http.Request, code int) {
	_, _ = io.Copy(io.Discard, io.LimitReader(req.Body, 64<<20))
	if code == 0 {
		code = http.StatusServiceUnavailable
	}
	name, msg := "InternalError", "We encountered an internal error. Please try again."
	switch {
	case code == http.StatusServiceUnavailable:
		name, msg = "SlowDown", "Please reduce your request rate."
	case code < 500:
		name, msg = "InjectedFault", "A fault injected by stormsim."
	}
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(code)
	if req.Method != http.MethodHead {
		fmt.Fprintf(w, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>%s</Code><Message>%s</Message><RequestId>stormsim</RequestId></Error>", name, msg)
	}
}

// redisHook adds latency to Redis commands (redis-latency).
type redisHook struct{ f *Set }

func (h redisHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h redisHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if s, ok := h.f.fire(RedisLatency, nil); ok {
			syncx.Sleep(ctx, s.Latency)
		}
		return next(ctx, cmd)
	}
}

func (h redisHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if s, ok := h.f.fire(RedisLatency, nil); ok {
			syncx.Sleep(ctx, s.Latency)
		}
		return next(ctx, cmds)
	}
}

// step is the coordinator hook: crashes at the named step, pauses longer
// than the lock TTL, and failovers that lose every lock while this handler
// holds one.
func (f *Set) step(ctx context.Context, id, step string) error {
	at := func(s *scenarios.Fault) bool { return s.Step == step }
	if _, ok := f.fire(HandlerCrash, at); ok {
		return coordinator.ErrCrash
	}
	// The handler's own lock goes before its pause, so a waiting upload
	// takes the lock while this handler is still on its way.
	if s, ok := f.fire(RedisLockExpiry, at); ok {
		f.loseOwnLock(ctx, id, false)
		syncx.Sleep(ctx, s.Latency)
	}
	if s, ok := f.fire(RedisFenceRollback, at); ok {
		f.loseOwnLock(ctx, id, true)
		syncx.Sleep(ctx, s.Latency)
	}
	pauseAt := func(s *scenarios.Fault) bool { return s.Step == step || s.Step == "" && step == f.pauseStep }
	if s, ok := f.fire(HandlerPause, pauseAt); ok {
		syncx.Sleep(ctx, s.Latency)
	}
	if step == coordinator.StepAfterLock {
		if _, ok := f.fire(RedisLockLoss, nil); ok {
			f.loseLocks(ctx)
		}
	}
	return nil
}

// loseOwnLock deletes the lock of the file upload id holds (its TTL ran
// out early); rollback also takes the file's fencing counter one back, as a
// failover to a replica that missed the holder's increment would, so the
// next holder is issued the same token. Both in one transaction, so no
// acquire falls between them.
func (f *Set) loseOwnLock(ctx context.Context, id string, rollback bool) {
	if f.lease == nil {
		return
	}
	user, path, ok := f.lease(id)
	if !ok {
		return
	}
	k := f.coord.KeysFor(user, path, id)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_, _ = f.target.Redis.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, k.Lock)
		if rollback {
			p.Decr(ctx, k.Fence)
		}
		return nil
	})
}

// loseLocks deletes every lock of the run, as a failover to a replica that
// had not seen them would.
func (f *Set) loseLocks(ctx context.Context) int {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	n := 0
	iter := f.target.Redis.Scan(ctx, 0, f.coord.LockPattern(), 1000).Iterator()
	for iter.Next(ctx) {
		if f.target.Redis.Del(ctx, iter.Val()).Err() == nil {
			n++
		}
	}
	return n
}

// eventFate is the delivery's fate hook (called under its lock).
func (f *Set) EventFate(events.S3EventRecord) delivery.EventFate {
	var fate delivery.EventFate
	if _, ok := f.fire(EventDrop, nil); ok {
		fate.Drop = true
		return fate
	}
	if _, ok := f.fire(EventDuplicate, nil); ok {
		fate.Duplicate = true
	}
	if s, ok := f.fire(EventDelay, nil); ok {
		fate.Delay = s.Latency
	}
	if _, ok := f.fire(EventReorder, nil); ok {
		f.mu.Lock()
		fate.HoldBack = time.Duration(1 + f.rng.Int64N(int64(reorderHold)))
		f.mu.Unlock()
	}
	return fate
}

// pushLost reports whether a push is lost to an outage.
func (f *Set) PushLost() bool {
	_, ok := f.fire(PushOutage, nil)
	return ok
}

// Hostile upload variants, sent in turn. Each must be rejected.
var hostileVariants = []string{"path-traversal", "absolute-path", "control-character", "oversized-path",
	"too-much-metadata", "missing-metadata", "other-user", "sha256-mismatch"}

// hostile returns the variant of hostile input this upload should carry,
// or "".
func (f *Set) Hostile() string {
	if _, ok := f.fire(HostileUpload, nil); ok {
		return hostileVariants[(f.hostileN.Add(1)-1)%uint64(len(hostileVariants))]
	}
	return ""
}

// begin starts the timeline: each window switches on at origin+start and
// off at origin+end.
func (f *Set) Begin(origin time.Time) {
	type edge struct {
		at time.Time
		i  int
		on bool
	}
	var edges []edge
	for i, s := range f.specs {
		if f.skip[i] != "" {
			continue
		}
		edges = append(edges, edge{origin.Add(s.Start), i, true})
		if s.End > 0 {
			edges = append(edges, edge{origin.Add(s.End), i, false})
		}
	}
	// Stable: at equal instants, switch off before on, in file order.
	sort.SliceStable(edges, func(a, b int) bool {
		return edges[a].at.Before(edges[b].at) || edges[a].at.Equal(edges[b].at) && !edges[a].on && edges[b].on
	})
	f.mu.Lock()
	f.origin = origin
	f.mu.Unlock()
	// Windows from the start are on before the first arrival.
	for len(edges) > 0 && !edges[0].at.After(origin) {
		f.on(edges[0].i)
		edges = edges[1:]
	}
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		t := time.NewTimer(time.Hour)
		defer t.Stop()
		for _, e := range edges {
			t.Reset(max(time.Until(e.at), 0))
			select {
			case <-f.stop:
				return
			case <-t.C:
			}
			if e.on {
				f.on(e.i)
			} else {
				f.off(e.i)
			}
		}
	}()
}

// on starts window i and does what happens at its start.
func (f *Set) on(i int) {
	s := &f.specs[i]
	f.mu.Lock()
	if f.lifted || !f.from[i].IsZero() {
		f.mu.Unlock()
		return
	}
	f.from[i] = f.now()
	outage := s.Kind == RedisOutage && f.outages == 0
	if s.Kind == RedisOutage {
		f.outages++
	}
	f.mu.Unlock()
	switch s.Kind {
	case RedisOutage:
		if outage {
			quietRedisDials()
			f.target.Server.StopRedis() // connections refused; the data stays
		}
		f.injected[i].Add(1)
	case RedisLockLoss:
		f.loseLocks(context.Background())
		f.injected[i].Add(1)
	case RedisClockJump:
		f.target.Server.JumpRedisClock(s.Jump)
		f.injected[i].Add(1)
	}
	f.active[i].Store(true)
	if s.Kind == RedisClockJump && s.End == 0 {
		f.off(i) // an instant: the jump has happened
	}
}

// off ends window i, undoes what needs undoing and records the window.
func (f *Set) off(i int) {
	s := &f.specs[i]
	f.active[i].Store(false)
	f.mu.Lock()
	from := f.from[i]
	if from.IsZero() || f.done[i] {
		f.mu.Unlock()
		return
	}
	f.done[i] = true
	to := f.now()
	restart := false
	if s.Kind == RedisOutage {
		f.outages--
		restart = f.outages == 0
	}
	f.mu.Unlock()
	detail := faultDetail(s)
	if restart {
		// Back on the same address with its data. A port taken meanwhile
		// would leave Redis down: retry briefly, then say so.
		var err error
		for try := 0; try < 50; try++ {
			if err = f.target.Server.RestartRedis(); err == nil {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if err != nil {
			detail += fmt.Sprintf(" (restart failed: %v)", err)
		}
	}
	f.mu.Lock()
	f.spans = append(f.spans, measure.FaultSpan{Kind: s.Kind, From: from.Sub(f.origin), To: to.Sub(f.origin), Detail: detail})
	f.spanIdx = append(f.spanIdx, i)
	f.mu.Unlock()
	_ = f.hist.Write(history.Fault{T: history.KindFault, Kind: s.Kind, From: from, To: to})
}

// Hooks composes the coordinator hooks of a mutant (may be nil) with
// the faults'.
// A mutant's Script and Disabled hooks are kept.
func (f *Set) Hooks(prev *coordinator.Hooks) *coordinator.Hooks {
	h := &coordinator.Hooks{}
	if prev != nil {
		*h = *prev
	}
	h.Step = func(ctx context.Context, id, step string) error {
		if prev != nil && prev.Step != nil {
			if err := prev.Step(ctx, id, step); err != nil {
				return err
			}
		}
		return f.step(ctx, id, step)
	}
	return h
}

// startReconciler sweeps the staging area every reconcileEvery for objects
// older than reconcileAge until the drain begins: events that an event-drop
// lost, or that failed through Lambda's retries (an outage, crashes), are
// handled this way. Each pass holds the delivery, so a drain that begins
// meanwhile waits for it.
func (f *Set) StartReconciler(d *delivery.Delivery) {
	ctx, cancel := context.WithCancel(context.Background())
	f.cancel = cancel
	f.sweeps.Add(1)
	go func() {
		defer f.sweeps.Done()
		t := time.NewTicker(reconcileEvery)
		defer t.Stop()
		for {
			select {
			case <-f.stop:
				return
			case <-t.C:
			}
			release := d.Hold()
			_, _ = f.Reconcile(ctx, reconcileAge)
			release()
		}
	}()
}

// reconcile runs one sweep and counts what it handled. Its errors (S3 or
// Redis still failing) are the next sweep's to retry.
func (f *Set) Reconcile(ctx context.Context, olderThan time.Duration) (int, error) {
	n, err := f.coord.Reconcile(ctx, olderThan)
	f.reconciled.Add(int64(n))
	return n, err
}

// close lifts the faults if the drain did not, and stops the reconciler.
// It is idempotent.
func (f *Set) Close() {
	f.closeOnce.Do(func() {
		f.Lift(time.Time{})
		if f.cancel != nil {
			f.cancel()
		}
		f.sweeps.Wait()
	})
}

// lift ends every active window (the drain has begun), stops the timeline
// and returns the windows as injected, relative to start.
func (f *Set) Lift(start time.Time) []measure.FaultSpan {
	f.mu.Lock()
	already := f.lifted
	f.lifted = true
	f.mu.Unlock()
	if !already {
		close(f.stop)
		f.wg.Wait()
		for i := range f.specs {
			f.off(i)
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]measure.FaultSpan, len(f.spans))
	shift := start.Sub(f.origin)
	for k, sp := range f.spans {
		sp.From, sp.To = max(sp.From-shift, 0), max(sp.To-shift, 0)
		sp.Injected = f.injected[f.spanIdx[k]].Load()
		out[k] = sp
	}
	for i, why := range f.skip {
		if why != "" {
			s := &f.specs[i]
			out = append(out, measure.FaultSpan{Kind: s.Kind, From: s.Start, To: s.Start, Detail: "skipped: " + why})
		}
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].From < out[b].From })
	return out
}

// quietRedisDials keeps go-redis from logging every refused dial during an
// outage (hundreds of lines a second); other messages still go to the
// standard logger. go-redis has one process-wide logger.
var quietRedisDials = sync.OnceFunc(func() {
	redis.SetLogger(redisDialFilter{})
})

type redisDialFilter struct{}

func (redisDialFilter) Printf(_ context.Context, format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	if strings.Contains(msg, "failed to dial") || strings.Contains(msg, "connection refused") {
		return
	}
	log.Print("redis: " + msg)
}

func faultDetail(s *scenarios.Fault) string {
	d := ""
	if s.Probability < 1 {
		d += fmt.Sprintf(" p=%g", s.Probability)
	}
	switch s.Kind {
	case S3Error:
		d += fmt.Sprintf(" code=%d", s.Code)
	case S3Latency, RedisLatency, HandlerPause, EventDelay:
		d += " latency=" + s.Latency.String()
		if s.Step != "" {
			d += " step=" + s.Step
		}
	case HandlerCrash:
		d += " step=" + s.Step
	case RedisLockExpiry, RedisFenceRollback:
		d += " step=" + s.Step + " latency=" + s.Latency.String()
	case RedisClockJump:
		d += " jump=" + s.Jump.String()
	}
	if len(d) > 0 {
		d = d[1:]
	}
	return d
}
