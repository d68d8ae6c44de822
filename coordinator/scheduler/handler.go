package scheduler

import (
	"context"
	"fmt"
	"time"
)

// Options configures a Handler.
type Options struct {
	Store    Store
	Register Register // nil: Store must implement Register
	Rule     Rule
	Run      Runner
	Now      func() time.Time

	// Resolution is the rule's resolution (default one minute). A wall-clock
	// run beside a short workload may scale it down.
	Resolution time.Duration
	// Lead is how long a rule update may take to apply; targets closer than
	// that to now move one boundary later (see ArmTarget).
	Lead time.Duration
	// Batch is the page size of Store.Due (default 1000).
	Batch int

	// Hooks are for a harness's self-test (see hooks.go); nil in every
	// real deployment.
	Hooks *Hooks
}

// Handler is the self-rescheduling scheduler: Schedule inserts events, Fire
// is what the timer rule invokes. Its methods are safe for concurrent use
// (and from many processes sharing one Store).
type Handler struct {
	o     Options
	reg   Register
	stale time.Duration
}

// maxAttempts bounds Fire's loop when inserts keep racing it.
const maxAttempts = 32

// New checks o and fills in defaults.
func New(o Options) (*Handler, error) {
	if o.Store == nil || o.Rule == nil || o.Run == nil || o.Now == nil {
		return nil, fmt.Errorf("new scheduler: Store, Rule, Run and Now are required")
	}
	if o.Resolution <= 0 {
		o.Resolution = time.Minute
	}
	if o.Batch <= 0 {
		o.Batch = 1000
	}
	reg := o.Register
	if reg == nil {
		r, ok := o.Store.(Register)
		if !ok {
			return nil, ErrNoRegister
		}
		reg = r
	}
	h := &Handler{o: o, reg: reg}
	if s, ok := o.Store.(Stale); ok {
		h.stale = s.Staleness()
	}
	return h, nil
}

// FireReport is what one invocation did.
type FireReport struct {
	Ran      int       // effects run by this invocation
	Skipped  int       // due events another invocation claimed first
	Failed   int       // effects that failed and were put back
	Attempts int       // passes of the drain / re-arm loop
	Target   time.Time // the minute left armed (zero: disarmed)
	Armed    bool      // this invocation updated the rule
}

// Schedule inserts ev and re-arms the rule earlier when ev is due before the
// armed minute (or nothing is armed). Put happens before NoteInsert, and
// NoteInsert bumps the register's version, so a handler running concurrently
// either sees ev in its read of the table or fails its SetTarget and reads
// again: no interleaving leaves ev uncovered.
func (h *Handler) Schedule(ctx context.Context, ev Event) error {
	if err := h.o.Store.Put(ctx, ev); err != nil {
		return fmt.Errorf("put event: %w: %w", ErrNotStored, err)
	}
	if !h.on(GuardRegister) {
		return nil
	}
	now := h.o.Now()
	return h.lower(ctx, h.target(ev.Due, now, false), now)
}

// lower moves the armed minute down to target if it is later, spent or
// unset, and arms the rule when it did.
func (h *Handler) lower(ctx context.Context, target, now time.Time) error {
	st, err := h.reg.NoteInsert(ctx, target, now, now.Add(-h.o.Resolution))
	if err != nil {
		return fmt.Errorf("note insert: %w", err)
	}
	if !st.Lowered {
		return nil
	}
	return h.arm(ctx, target)
}

// Fire runs every due event and re-arms the rule to the earliest pending one.
//
// Protocol, one pass: read the register (version v); drain due events; read
// the earliest pending due time; then
//   - if the register holds a future minute at or before ours, keep it: only
//     inserts (which lower) and spent-minute handlers (which replace) move a
//     future minute, so it can only get earlier;
//   - otherwise SetTarget(v, ours) and arm. A failed SetTarget means an
//     insert or another invocation came in between: start a new pass.
//
// With a Stale store the table may hide inserts of the last Staleness, so the
// target is capped at a re-check right after the latest insert has become
// visible: a stale read can delay an event to that re-check, never lose it.
func (h *Handler) Fire(ctx context.Context, firedAt time.Time) (FireReport, error) {
	var rep FireReport
	for rep.Attempts < maxAttempts {
		rep.Attempts++
		st, err := h.reg.ArmState(ctx)
		if err != nil {
			return rep, fmt.Errorf("read arm state: %w", err)
		}
		failed, err := drain(ctx, h.o.Store, h.o.Run, h.cutoff, h.o.Batch, &rep)
		if err != nil {
			return rep, err
		}
		next, ok, err := h.o.Store.Next(ctx)
		if err != nil {
			return rep, fmt.Errorf("read next event: %w", err)
		}
		now := h.o.Now()
		if ok && !next.After(now) && failed == 0 {
			continue // became due (or visible) while we ran
		}
		var target time.Time
		if ok {
			target = h.target(next, now, true)
		}
		if h.stale > 0 && st.LastPut.Add(h.stale).After(now) && h.on(GuardRegister) {
			recheck := h.target(st.LastPut.Add(h.stale), now, true)
			if target.IsZero() || recheck.Before(target) {
				target = recheck
			}
		}
		if !h.on(GuardRegister) {
			rep.Target, rep.Armed = target, true
			return rep, h.o.Rule.Arm(ctx, target)
		}
		if st.Target.After(now) && (target.IsZero() || !st.Target.After(target)) {
			rep.Target = st.Target
			return rep, nil
		}
		set, err := h.reg.SetTarget(ctx, st.Version, target)
		if err != nil {
			return rep, fmt.Errorf("set arm target: %w", err)
		}
		if set && target.IsZero() {
			// Nothing pending: a spent rule does not fire again, so the
			// update is not worth its cost; inserts see zero and arm.
			return rep, nil
		}
		if set {
			rep.Target, rep.Armed = target, true
			return rep, h.arm(ctx, target)
		}
	}
	// Inserts kept racing us: make sure the next boundary is armed, so a
	// later invocation finishes the job.
	now := h.o.Now()
	rep.Target = h.target(now, now, false)
	return rep, h.lower(ctx, rep.Target, now)
}

// arm updates the rule to target, then reads the register back and follows
// it until they agree. Whoever updates the rule last also reads the register
// last, so the rule ends on the register's value even when two updates cross.
// A failed update clears the register so the next insert or a retried Fire
// arms again instead of trusting a minute the rule never got.
func (h *Handler) arm(ctx context.Context, target time.Time) error {
	for range maxAttempts {
		if err := h.o.Rule.Arm(ctx, target); err != nil {
			if st, rerr := h.reg.ArmState(ctx); rerr == nil && st.Target.Equal(target) {
				_, _ = h.reg.SetTarget(ctx, st.Version, time.Time{})
			}
			return fmt.Errorf("arm rule: %w", err)
		}
		st, err := h.reg.ArmState(ctx)
		if err != nil {
			return fmt.Errorf("read arm state: %w", err)
		}
		if st.Target.Equal(target) {
			return nil
		}
		target = st.Target
	}
	return nil
}

// cutoff is the due time up to which a pass runs events: now (without
// GuardCutoff, the end of the current boundary: "everything due this
// minute").
func (h *Handler) cutoff() time.Time {
	if !h.on(GuardCutoff) {
		return ceilTo(h.o.Now(), h.o.Resolution)
	}
	return h.o.Now()
}

// target is ArmTarget with the handler's settings; rearm says Fire is
// re-arming the rule (GuardRearmLead).
func (h *Handler) target(due, now time.Time, rearm bool) time.Time {
	lead := h.o.Lead
	if rearm && !h.on(GuardRearmLead) {
		lead = 0
	}
	return armTarget(h.round(due, h.o.Resolution), now, h.o.Resolution, lead)
}
