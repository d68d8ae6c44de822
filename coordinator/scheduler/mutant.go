package scheduler

import "time"

// Mutant is a deliberately broken behaviour, for the harness's self-test
// only: a run with a mutant must fail the scheduler invariant, which proves
// the measurements can see the bug. Real deployments leave Options.Mutant
// zero.
type Mutant int

const (
	// MutantNone is the correct scheduler.
	MutantNone Mutant = iota
	// MutantEarly arms the rule to the minute that contains the earliest
	// event instead of the one at or after it, and runs everything due
	// within the current minute, so events run early.
	MutantEarly
	// MutantLoseInserts is the naive protocol: Schedule only inserts and
	// trusts the running handler to see the event; Fire arms the rule from
	// its own read of the table, ignoring the register. An event inserted
	// after the handler's read (or hidden by a stale read) is not armed for,
	// and is lost once the handler disarms an empty table.
	MutantLoseInserts
)

// String names the mutant.
func (m Mutant) String() string {
	switch m {
	case MutantNone:
		return "none"
	case MutantEarly:
		return "early"
	case MutantLoseInserts:
		return "lose-inserts"
	}
	return "unknown"
}

// earlyTarget is the early mutant's target: due rounded down.
func earlyTarget(due, now time.Time, res, lead time.Duration) time.Time {
	t := due.Truncate(res)
	floor := ceilTo(now.Add(lead), res)
	if !floor.After(now) {
		floor = floor.Add(res)
	}
	if t.Before(floor) {
		return floor
	}
	return t
}
