// Package scheduler runs scheduled events (for example "send the reminder
// e-mail to user X at T") from an event table with a single timer rule of
// minute resolution, the self-rescheduling design of docs/design.md ("Event
// scheduler"), plus two peers to compare it against: a fixed-interval poller
// and one one-shot schedule per event.
//
// The package is the system under test: it talks to its table through the
// small Store and Register interfaces (a Redis implementation and an
// in-memory, optionally eventually consistent one live here), to the timer
// through Rule, and reads time only through an injected Now func.
//
// # Guarantees
//
//   - Never early: the rule is armed to the resolution boundary at or after
//     an event's due time (see ArmTarget), and an invocation runs only events
//     whose due time is <= its clock.
//   - Exactly once in effect: an event's effect runs only after the caller
//     won Store.MarkDone for it, an atomic claim, so duplicate rule deliveries
//     and concurrent handlers never run an effect twice.
//   - Nothing lost: inserts and handlers coordinate through a strongly
//     consistent arm register with a version (see Handler.Fire), so an event
//     inserted while a handler runs, or hidden from it by a stale read, is
//     always covered by an armed minute.
//
// # E-mail
//
// Mail is the Runner that sends an event's e-mail through a Mailer (SMTP
// in deployment: package coordinator/smtpmail), guarded by a Ledger claim
// per event id taken before the send and a sent mark after it, so a
// duplicate fire, a retried handler or a re-inserted event sends nothing
// twice. Exactly once, except two windows in which it is at least once
// with the same Message-ID, for a reader to dedupe: a connection that
// fails after the whole message was sent and before the server's reply
// (ErrMaybeSent: resent once the claim's lease ends), and a process that
// dies between the send and the mark when the event then runs again after
// the lease (a re-insert; the Handler does not re-run an event it claimed).
// A process that dies after the Handler's MarkDone and before the send
// loses that e-mail. mail.go walks through each step.
package scheduler

import (
	"context"
	"errors"
	"time"
)

// Event is one scheduled event.
type Event struct {
	ID      string
	Due     time.Time
	Payload []byte
}

// Store is the event table as the scheduler uses it.
type Store interface {
	// Put inserts or replaces an event; a replaced event is pending again.
	Put(ctx context.Context, ev Event) error
	// Due returns up to limit pending events with Due <= now, earliest first.
	Due(ctx context.Context, now time.Time, limit int) ([]Event, error)
	// Next returns the due time of the earliest pending event.
	Next(ctx context.Context) (due time.Time, ok bool, err error)
	// MarkDone atomically claims the event: it reports true to exactly one
	// caller, the one that must run the effect; false when it was already
	// done (or is unknown).
	MarkDone(ctx context.Context, id string) (bool, error)
}

// ArmState is the arm register: the minute the rule is (being) armed to and
// a version bumped by every insert and every change, so a handler can tell
// that something happened between its reads and its write.
type ArmState struct {
	Target  time.Time // zero: disarmed
	Version int64
	LastPut time.Time // latest insert seen by NoteInsert
	Lowered bool      // NoteInsert lowered Target to the caller's target
}

// Register is the strongly consistent arm register kept beside the table.
type Register interface {
	ArmState(ctx context.Context) (ArmState, error)
	// NoteInsert records an insert made at now: it bumps the version, raises
	// LastPut, and lowers Target to target when Target is zero, later than
	// target, or spent (<= spent: its minute has passed without a handler
	// moving it). It returns the state after the change.
	NoteInsert(ctx context.Context, target, now, spent time.Time) (ArmState, error)
	// SetTarget sets Target (zero disarms) if the version is still version,
	// bumping it; false when someone changed the register meanwhile.
	SetTarget(ctx context.Context, version int64, target time.Time) (bool, error)
}

// Rule is the timer rule the self-rescheduling handler re-arms: after an
// update takes effect it invokes the handler once (at least once) somewhere
// inside the minute that starts at minute. A zero minute disables it.
type Rule interface {
	Arm(ctx context.Context, minute time.Time) error
}

// RateRule is an optional capability of a Rule: fire every interval (a
// rate(N minutes) schedule). The Poller needs it.
type RateRule interface {
	SetRate(ctx context.Context, every time.Duration) error
}

// OneShotRule creates a one-time schedule per event (EventBridge Scheduler
// style) that delivers ev to OneShot.FireEvent at or after at.
type OneShotRule interface {
	At(ctx context.Context, ev Event, at time.Time) error
}

// Stale is an optional capability of a Store whose reads may miss inserts
// made during the last Staleness(); done-marks and the register must still be
// strongly consistent.
type Stale interface {
	Staleness() time.Duration
}

// Runner performs an event's effect. It must return an error only when the
// effect did not happen; the event is then put back and retried at the next
// wake-up.
type Runner func(ctx context.Context, ev Event) error

// ErrNotStored wraps a Schedule error that left the event unstored: the
// caller may retry the whole Schedule. Any other Schedule error came after
// the event was stored (it will run, possibly late) and a retry could run
// it twice.
var ErrNotStored = errors.New("event not stored")

// ErrNoRegister is returned by New when the store has no arm register.
var ErrNoRegister = errors.New("scheduler: store has no arm register")

// ArmTarget is the boundary (multiple of res) the rule must be armed to for
// an event due at due, when the handler runs at now and an update takes
// up to lead to apply.
//
// The rule fires somewhere in [m, m+res) after being armed to m, so the
// earliest possible fire is m itself: never early needs m >= due, and the
// least such boundary is due rounded up (the minute that contains due would
// fire early whenever due is not on a boundary). For uniform due times the
// rounding costs res/2 on average: 30 s for minutes, plus the fire offset.
// The second bound keeps the target far enough ahead that the update is in
// place before the minute begins; a target in the past would never fire.
func ArmTarget(due, now time.Time, res, lead time.Duration) time.Time {
	return armTarget(ceilTo(due, res), now, res, lead)
}

// armTarget is ArmTarget for a due time already rounded to boundary t.
func armTarget(t, now time.Time, res, lead time.Duration) time.Time {
	floor := ceilTo(now.Add(lead), res)
	if !floor.After(now) {
		floor = floor.Add(res)
	}
	if t.Before(floor) {
		return floor
	}
	return t
}

// ceilTo rounds t up to a multiple of res since the zero time (minutes and
// whole fractions of a second line up with Unix time).
func ceilTo(t time.Time, res time.Duration) time.Time {
	f := t.Truncate(res)
	if f.Before(t) {
		return f.Add(res)
	}
	return f
}
