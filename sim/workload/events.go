package workload

import (
	"math/rand/v2"
	"time"

	"github.com/stormsim/stormsim/scenarios"
)

// Stream names of the scheduler workload.
const (
	StreamSignups = "signups" // Poisson sign-up instants
	StreamDue     = "due"     // due offsets
)

// Event is one planned scheduler event (e.g. "send user U reminder I").
type Event struct {
	Seq   int64
	User  int64 // sign-up order
	Index int   // which of the user's events
	// SignUp is when the user signed up (and the event was created); Due
	// is when it must run. Both are offsets from the start; Due may lie
	// beyond the simulated days.
	SignUp, Due time.Duration
}

// Events streams the planned scheduler events in creation order: users
// sign up as a Poisson process at NewUsersPerHour over Days, each creating
// EventsPerUser events due at sign-up + DueOffsets[i % len]; at most
// Scheduler.Events in all. Where a rule fires, duplicate fires and the
// like are the runner's, from its own streams.
type Events struct {
	s            *scenarios.Scheduler
	end          time.Duration
	rSign, rDue  *rand.Rand
	t            float64 // seconds, current user's sign-up
	user         int64
	index        int
	seq          int64
	started, eof bool
}

// NewEvents plans sc's scheduler events with seed; a scenario without a
// scheduler section plans none.
func NewEvents(sc *scenarios.Scenario, seed uint64) *Events {
	st := NewStreams(seed)
	e := &Events{s: sc.Scheduler, rSign: st.New(StreamSignups), rDue: st.New(StreamDue)}
	if e.s == nil || e.s.NewUsersPerHour <= 0 || e.s.EventsPerUser <= 0 || len(e.s.DueOffsets) == 0 {
		e.eof = true
		return e
	}
	e.end = seconds(e.s.Days * 24 * 3600)
	return e
}

// Next returns the next event, and false when the plan is exhausted.
func (e *Events) Next() (Event, bool) {
	if e.eof || (e.s.Events > 0 && e.seq >= e.s.Events) {
		e.eof = true
		return Event{}, false
	}
	if !e.started || e.index >= e.s.EventsPerUser {
		if e.started {
			e.user++
		}
		e.started, e.index = true, 0
		e.t += e.rSign.ExpFloat64() * 3600 / e.s.NewUsersPerHour
		if seconds(e.t) >= e.end {
			e.eof = true
			return Event{}, false
		}
	}
	signUp := seconds(e.t)
	off := Sample(e.s.DueOffsets[e.index%len(e.s.DueOffsets)], e.rDue)
	ev := Event{Seq: e.seq, User: e.user, Index: e.index, SignUp: signUp, Due: signUp + seconds(off)}
	if a := e.s.DueAlign; a > 0 && ev.Due%a != 0 {
		ev.Due += a - ev.Due%a // due on a boundary (scheduler.due_align)
	}
	e.seq++
	e.index++
	return ev, true
}
