// Package fault injects a scenario's faults into a run: S3 errors and
// latency in front of the embedded S3, Redis latency, outages, lost locks
// and clock jumps, handler crashes and pauses at coordinator steps, event
// drops, delays, duplicates and reordering, lost pushes and hostile
// uploads, each in its time window (or keyed to one phase's uploads,
// however late they run), counting the evidence that it acted. Each kind
// discovers whether the environment supports it (Target: a wrapped S3, a
// Redis server of the harness's own) and is reported as skipped when it
// does not.
package fault

import (
	"context"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/stormsim/stormsim/coordinator"
	"github.com/stormsim/stormsim/scenarios"
	"github.com/stormsim/stormsim/sim/measure"
	"github.com/stormsim/stormsim/sim/workload"
)

// Fault kinds (scenarios.FaultKinds describes them; README.md and
// scenarios/scenario.go say what each does to the run).
const (
	S3Error        = "s3-error"
	S3Latency      = "s3-latency"
	RedisLatency   = "redis-latency"
	RedisReplyLost = "redis-reply-lost"
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
	record   func(rec any) // the run's sink (its history); nil records nothing
	now      func() time.Time
	active   []atomic.Bool
	injected []atomic.Int64
	// taken and overtaken count a stall fault's evidence (stall).
	taken, overtaken []atomic.Int64
	hostileN         atomic.Uint64

	// Set by Attach, before Begin; read-only afterwards.
	target    Target
	coord     *coordinator.Coordinator
	pauseStep string
	// phased names the phases that faults are keyed to (Fault.Phase).
	phased map[string]bool
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
	spanIdx []int             // the window of each span
	phaseOf map[string]string // upload id -> phase, for phased faults only
	outages int               // redis-outage windows active
	lifted  bool

	stop       chan struct{} // closed by lift: the timeline and the periodic reconciler end
	wg         sync.WaitGroup
	sweeps     sync.WaitGroup // the periodic reconciler
	closeOnce  sync.Once
	cancel     context.CancelFunc // of the reconciler's passes
	reconciled atomic.Int64       // staged objects the reconciler handled
}

// New prepares a scenario's faults; each window that ends goes to record
// as a history.Fault (the run's one emission path).
func New(specs []scenarios.Fault, seed uint64, now func() time.Time, record func(rec any)) *Set {
	f := &Set{specs: specs, record: record, now: now, active: make([]atomic.Bool, len(specs)),
		injected: make([]atomic.Int64, len(specs)), taken: make([]atomic.Int64, len(specs)), overtaken: make([]atomic.Int64, len(specs)), skip: make([]string, len(specs)), from: make([]time.Time, len(specs)), done: make([]bool, len(specs)),
		rng: workload.NewStreams(seed).New(workload.StreamFaults), stop: make(chan struct{})}
	for _, s := range specs {
		if s.Phase != "" {
			if f.phased == nil {
				f.phased, f.phaseOf = map[string]bool{}, map[string]string{}
			}
			f.phased[s.Phase] = true
		}
	}
	return f
}

// Phased reports whether some fault is keyed to a phase; the devices then
// tell Staging each upload's phase.
func (f *Set) Phased() bool { return f.phased != nil }

// Staging notes the phase of an upload about to be staged, when a fault
// is keyed to that phase (traffic.Devices.Staging).
func (f *Set) Staging(id, phase string) {
	if !f.phased[phase] {
		return
	}
	f.mu.Lock()
	f.phaseOf[id] = phase
	f.mu.Unlock()
}

// inPhase reports whether spec s acts on upload id: always, unless s is
// keyed to a phase the upload was not planned in.
func (f *Set) inPhase(s *scenarios.Fault, id string) bool {
	if s.Phase == "" {
		return true
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.phaseOf[id] == s.Phase
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
