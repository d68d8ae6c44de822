package checker

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/stormsim/stormsim/sim/history"
)

// NameEmail is the e-mail check's name in results.json "invariants".
const NameEmail = "email"

// EmailStats is what the mail records say about the due e-mails (sched
// records with mail set): the figures behind the email.* gate metrics.
type EmailStats struct {
	Due        int // e-mails due: mail events whose insert was stored
	Delivered  int // due e-mails the server holds at least once
	Messages   int // mail records
	Duplicates int // copies beyond the first, per event
	// Distinct counts distinct Message-IDs among the duplicates: 0 when
	// every copy is a resend of the same message (a reader deduping by
	// Message-ID sees exactly once).
	DistinctDuplicates int
	Missed             int // due e-mails the server never received
	Early              int // messages received before their event's due time
	Stray              int // messages naming no due e-mail
	// Lateness is each delivered e-mail's first receive time minus its due
	// time, seconds, ascending.
	Lateness []float64
}

// Quantile returns the q-quantile (0..1) of the lateness, nearest rank.
func (e EmailStats) Quantile(q float64) float64 {
	n := len(e.Lateness)
	if n == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(n))) - 1
	return e.Lateness[min(max(i, 0), n-1)]
}

// Mean is the mean lateness in seconds.
func (e EmailStats) Mean() float64 {
	if len(e.Lateness) == 0 {
		return 0
	}
	var sum float64
	for _, l := range e.Lateness {
		sum += l
	}
	return sum / float64(len(e.Lateness))
}

// HasMail reports whether any scheduled event of s sends an e-mail.
func HasMail(s *history.Set) bool {
	return slices.ContainsFunc(s.Scheds, func(e history.Sched) bool { return e.Mail })
}

// Email computes EmailStats from s; v, when non-nil, is told each
// violation (event id and a description).
func Email(s *history.Set, v func(id, format string, args ...any)) EmailStats {
	if v == nil {
		v = func(string, string, ...any) {}
	}
	byEvent := map[string][]history.Mail{}
	for _, m := range s.Mails {
		byEvent[m.Event] = append(byEvent[m.Event], m)
	}
	var st EmailStats
	st.Messages = len(s.Mails)
	due := map[string]bool{}
	for _, e := range s.Scheds {
		if !e.Mail || e.Refused {
			continue
		}
		due[e.ID] = true
		st.Due++
		ms := byEvent[e.ID]
		if len(ms) == 0 {
			st.Missed++
			v(e.ID, "%s: due %s, no e-mail received", e.ID, e.Due.Format(timeFormat))
			continue
		}
		st.Delivered++
		first := ms[0].Received
		ids := map[string]bool{}
		for _, m := range ms {
			if m.Received.Before(first) {
				first = m.Received
			}
			ids[m.MessageID] = true
			if m.Received.Before(e.Due) {
				st.Early++
				v(e.ID, "%s: e-mail received %s before due %s", e.ID, m.Received.Format(timeFormat), e.Due.Format(timeFormat))
			}
		}
		if len(ms) > 1 {
			st.Duplicates += len(ms) - 1
			st.DistinctDuplicates += len(ids) - 1
			v(e.ID, "%s: e-mail received %d times (%d distinct Message-IDs)", e.ID, len(ms), len(ids))
		}
		st.Lateness = append(st.Lateness, first.Sub(e.Due).Seconds())
	}
	for _, m := range s.Mails {
		if !due[m.Event] {
			st.Stray++
			v(m.Event, "%s: e-mail %s received %s for no due e-mail", m.Event, m.MessageID, m.Received.Format(time.RFC3339Nano))
		}
	}
	slices.Sort(st.Lateness)
	return st
}

// checkEmail: every due e-mail delivered exactly once, never early.
func checkEmail(ix *index, o Options) Result {
	c := newCollector(NameEmail, o)
	st := Email(ix.s, func(id, format string, args ...any) { c.add([]string{id}, format, args...) })
	return c.result(fmt.Sprintf("e-mails due %d, messages %d, missed %d, duplicates %d, early %d, stray %d, lateness p99 %.3fs",
		st.Due, st.Messages, st.Missed, st.Duplicates, st.Early, st.Stray, st.Quantile(0.99)))
}
