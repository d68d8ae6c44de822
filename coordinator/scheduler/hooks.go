package scheduler

import "time"

// Guards of the self-rescheduling Handler, by name. Each is one line of
// defence the design relies on; Hooks.Disabled can switch one off so a
// harness can prove that its measurements see the difference.
const (
	// GuardRoundUp: an event is armed for the boundary at or after its due
	// time, never the one that contains it.
	GuardRoundUp = "round-up"
	// GuardBoundary: a due time exactly on a boundary is armed for that
	// boundary, not the next one.
	GuardBoundary = "boundary"
	// GuardCutoff: an invocation runs only events due by its own clock.
	GuardCutoff = "cutoff"
	// GuardRearmLead: when Fire re-arms the rule it keeps the rule-update
	// delay (Options.Lead) ahead, so the update is in place before the
	// boundary begins.
	GuardRearmLead = "rearm-lead"
	// GuardRegister: inserts and re-arms coordinate through the arm
	// register (Schedule lowers the armed minute; Fire arms only through a
	// versioned SetTarget and re-checks after stale reads).
	GuardRegister = "register"
	// GuardMailClaim: Mail claims an event id in its Ledger before sending
	// and marks it sent after, so a second run of the event sends nothing.
	GuardMailClaim = "mail-claim"
)

// Guards lists every guard name (GuardMailClaim is Mail's, the rest the
// Handler's).
var Guards = []string{GuardRoundUp, GuardBoundary, GuardCutoff, GuardRearmLead, GuardRegister, GuardMailClaim}

// Hooks let a harness build deliberately broken variants of the real
// handler for its self-test. Nil in every real deployment; a nil field
// keeps the behaviour as built.
type Hooks struct {
	// Disabled reports the guards to skip.
	Disabled func(guard string) bool
}

// on reports whether guard is in force (always, in production).
func (h *Handler) on(guard string) bool {
	k := h.o.Hooks
	return k == nil || k.Disabled == nil || !k.Disabled(guard)
}

// round is the rounding of a due time to a boundary: up (ceilTo) unless a
// guard is off.
func (h *Handler) round(t time.Time, res time.Duration) time.Time {
	switch {
	case !h.on(GuardRoundUp):
		return t.Truncate(res)
	case !h.on(GuardBoundary):
		return t.Truncate(res).Add(res)
	}
	return ceilTo(t, res)
}
