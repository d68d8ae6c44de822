package schedsim

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/stormsim/stormsim/coordinator/scheduler"
)

var (
	_ scheduler.Rule        = (*Rule)(nil)
	_ scheduler.RateRule    = (*Rule)(nil)
	_ scheduler.OneShotRule = (*Rule)(nil)
)

// RuleConfig describes how the fake timer service behaves.
type RuleConfig struct {
	Resolution time.Duration // default one minute
	// Jitter draws where inside the target minute a fire lands (clamped to
	// [0, Resolution)); for one-shot schedules, the delay after the due
	// time. Nil means zero.
	Jitter Dist
	// DuplicateFire is the probability that a fire is delivered twice; the
	// second delivery comes DuplicateDelay later (default uniform within a
	// resolution) and cannot be cancelled by later updates.
	DuplicateFire  float64
	DuplicateDelay Dist
	// UpdateDelay is how long an update (Arm, SetRate, At) takes to apply.
	UpdateDelay time.Duration
	// UpdateRate limits updates per second (0: unlimited), with UpdateBurst
	// allowed at once (default 1). An update above the rate is throttled:
	// the fake retries it the way the AWS SDK's standard retryer does,
	// applying it when the bucket has a token again (late, but in order),
	// as long as that is within RetryBudget (default 20 s, about three
	// attempts with backoff). Beyond it the call fails with ErrThrottled and
	// nothing changes, as when the SDK gives up. Throttled counts both;
	// Rejected the failures.
	UpdateRate  float64
	UpdateBurst int
	RetryBudget time.Duration
}

// ErrThrottled is returned by an update the rate limit rejected.
var ErrThrottled = errors.New("rule update throttled")

// RuleStats counts what the timer service did.
type RuleStats struct {
	Updates        int64 // Arm, SetRate and At calls
	Throttled      int64 // updates that had to wait for the rate limit
	Rejected       int64 // throttled updates that failed (ErrThrottled)
	Fires          int64 // deliveries, duplicates included
	DuplicateFires int64
	// MissedFires counts updates that applied only after the fire instant
	// they asked for had passed: a cron minute that was never seen.
	MissedFires int64
}

// Rule is the fake timer service: a minute-resolution rule (Arm), a rate
// schedule (SetRate) and one-shot schedules (At). It is safe for concurrent
// use; with a Wall clock deliveries run on their own goroutines.
type Rule struct {
	clk  Clock
	cfg  RuleConfig
	fire func(firedAt time.Time)
	one  func(ev scheduler.Event, firedAt time.Time)

	mu      sync.Mutex
	rng     *rand.Rand
	tat     time.Time // rate limiter: theoretical arrival time (GCRA)
	seq     uint64    // updates issued
	applied uint64    // latest update applied; older ones arriving late are dropped
	gen     uint64    // bumped per applied Arm; a pending fire of an older gen is void
	pending Timer
	stopped bool
	stats   RuleStats

	// inflight counts deliveries running their handler; Add happens under
	// mu only while not stopped, so Stop's Wait cannot race a late Add.
	inflight sync.WaitGroup
}

// NewRule returns a rule on clk that invokes fire for Arm and SetRate
// schedules and one for one-shot schedules (either may be nil if unused).
func NewRule(clk Clock, cfg RuleConfig, rng *rand.Rand, fire func(time.Time), one func(scheduler.Event, time.Time)) *Rule {
	if cfg.Resolution <= 0 {
		cfg.Resolution = time.Minute
	}
	if cfg.UpdateBurst <= 0 {
		cfg.UpdateBurst = 1
	}
	if cfg.RetryBudget <= 0 {
		cfg.RetryBudget = 20 * time.Second
	}
	if cfg.DuplicateDelay == nil {
		cfg.DuplicateDelay = Uniform(0, cfg.Resolution)
	}
	return &Rule{clk: clk, cfg: cfg, rng: rng, fire: fire, one: one}
}

// Stats returns a copy of the counters.
func (r *Rule) Stats() RuleStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stats
}

// Stop turns every pending and future delivery into a no-op and waits for
// deliveries already running. Idempotent; never call it from a handler.
func (r *Rule) Stop() {
	r.mu.Lock()
	r.stopped = true
	if r.pending != nil {
		r.pending.Stop()
	}
	r.mu.Unlock()
	r.inflight.Wait()
}

// Arm implements scheduler.Rule.
func (r *Rule) Arm(_ context.Context, minute time.Time) error {
	return r.update(func(seq uint64) { r.applyArm(seq, minute) })
}

// SetRate implements scheduler.RateRule: fire every interval, on boundaries
// of it, each fire jittered inside the resolution.
func (r *Rule) SetRate(_ context.Context, every time.Duration) error {
	return r.update(func(uint64) { r.tick(every) })
}

// At implements scheduler.OneShotRule: deliver ev at or after at, plus
// jitter, once the creation has applied.
func (r *Rule) At(_ context.Context, ev scheduler.Event, at time.Time) error {
	applyIn, err := r.admit()
	if err != nil {
		return err
	}
	r.mu.Lock()
	fireAt := at.Add(r.draw(r.cfg.Jitter, 0))
	r.mu.Unlock()
	now := r.clk.Now()
	if applied := now.Add(applyIn); fireAt.Before(applied) {
		fireAt = applied // a schedule in the past fires as soon as it exists
	}
	r.clk.AfterFunc(fireAt.Sub(now), func() { r.deliver(fireAt, func(t time.Time) { r.one(ev, t) }) })
	return nil
}

// admit takes a rate-limiter slot (GCRA) and returns how long until the
// update applies, or ErrThrottled when that is beyond the retry budget.
func (r *Rule) admit() (time.Duration, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.clk.Now()
	r.stats.Updates++
	wait := time.Duration(0)
	if r.cfg.UpdateRate > 0 {
		interval := time.Duration(float64(time.Second) / r.cfg.UpdateRate)
		allow := time.Duration(r.cfg.UpdateBurst-1) * interval
		tat := r.tat
		if tat.Before(now) {
			tat = now
		}
		if slot := tat.Add(-allow); slot.After(now) {
			wait = slot.Sub(now)
			r.stats.Throttled++
			if wait > r.cfg.RetryBudget {
				r.stats.Rejected++
				return 0, ErrThrottled
			}
		}
		r.tat = tat.Add(interval)
	}
	return wait + r.cfg.UpdateDelay, nil
}

// update schedules apply after the update delay and any throttling.
func (r *Rule) update(apply func(seq uint64)) error {
	in, err := r.admit()
	if err != nil {
		return err
	}
	r.mu.Lock()
	r.seq++
	seq := r.seq
	r.mu.Unlock()
	r.clk.AfterFunc(in, func() { apply(seq) })
	return nil
}

// applyArm makes minute the rule's target: one fire at minute + jitter, or
// none if that instant has already passed (or minute is zero).
func (r *Rule) applyArm(seq uint64, minute time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped || seq <= r.applied {
		return
	}
	r.applied = seq
	r.gen++
	if r.pending != nil {
		r.pending.Stop()
		r.pending = nil
	}
	if minute.IsZero() {
		return
	}
	at := minute.Add(r.draw(r.cfg.Jitter, r.cfg.Resolution))
	now := r.clk.Now()
	if at.Before(now) {
		r.stats.MissedFires++
		return
	}
	gen := r.gen
	r.pending = r.clk.AfterFunc(at.Sub(now), func() {
		r.mu.Lock()
		live := gen == r.gen
		if live {
			r.pending = nil
		}
		r.mu.Unlock()
		if live {
			r.deliver(at, r.fire)
		}
	})
}

// tick fires the rate schedule once and schedules the next boundary.
func (r *Rule) tick(every time.Duration) {
	now := r.clk.Now()
	next := now.Truncate(every).Add(every)
	r.mu.Lock()
	if r.stopped {
		r.mu.Unlock()
		return
	}
	at := next.Add(r.draw(r.cfg.Jitter, r.cfg.Resolution))
	r.mu.Unlock()
	r.clk.AfterFunc(at.Sub(now), func() {
		r.deliver(at, r.fire)
		r.tick(every)
	})
}

// deliver invokes f now and, with the duplicate probability, once more later.
func (r *Rule) deliver(at time.Time, f func(time.Time)) {
	r.mu.Lock()
	if r.stopped {
		r.mu.Unlock()
		return
	}
	r.stats.Fires++
	r.inflight.Add(1)
	dup := r.cfg.DuplicateFire > 0 && r.rng.Float64() < r.cfg.DuplicateFire
	var again time.Duration
	if dup {
		again = r.draw(r.cfg.DuplicateDelay, 0)
	}
	r.mu.Unlock()
	if dup {
		r.clk.AfterFunc(again, func() {
			r.mu.Lock()
			stopped := r.stopped
			if !stopped {
				r.stats.Fires++
				r.stats.DuplicateFires++
				r.inflight.Add(1)
			}
			r.mu.Unlock()
			if !stopped {
				defer r.inflight.Done()
				f(r.clk.Now())
			}
		})
	}
	defer r.inflight.Done()
	f(r.clk.Now())
}

// draw samples d, clamped to [0, limit) when limit > 0. Callers hold mu.
func (r *Rule) draw(d Dist, limit time.Duration) time.Duration {
	if d == nil {
		return 0
	}
	x := max(d(r.rng), 0)
	if limit > 0 && x >= limit {
		x = limit - 1
	}
	return x
}
