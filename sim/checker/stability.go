package checker

import (
	"fmt"
	"slices"
	"time"

	"github.com/stormsim/stormsim/sim/history"
)

// checkStability: once a poll got an outcome, later polls (by time) give
// the same one and never pending again; and the result read back after the
// drain (result records) is still what the device was told, unless it may
// have expired. One violation per upload. A result that could not be read
// back makes the check inconclusive.
func checkStability(ix *index, o Options) Result {
	c := newCollector(NameStability, o)
	var rb readBacks
	for i := range ix.recs {
		r := &ix.recs[i]
		msg := pollsChanged(ix, r)
		if msg == "" {
			msg = storedChanged(ix, r, &rb)
		}
		if msg != "" {
			c.add([]string{r.id}, "%s: %s", r.id, msg)
		}
	}
	summary := fmt.Sprintf("%d polls", len(ix.s.Polls))
	if len(ix.s.Results) > 0 {
		summary += fmt.Sprintf(", %d results read back (%d expired)", len(ix.s.Results), rb.expired)
	}
	res := c.result(summary)
	if rb.failed > 0 {
		res.OK, res.Inconclusive = false, true
		res.Detail += fmt.Sprintf("; %d result(s) could not be read back, e.g. %s: %s", rb.failed, rb.firstID, rb.firstErr)
	}
	return res
}

// pollsChanged returns how r's polls changed their answer, or "".
func pollsChanged(ix *index, r *record) string {
	if len(r.polls) < 2 {
		return ""
	}
	ps := slices.Clone(r.polls)
	slices.SortStableFunc(ps, func(a, b int) int { return ix.s.Polls[a].At.Compare(ix.s.Polls[b].At) })
	var first *history.Poll
	for _, i := range ps {
		q := &ix.s.Polls[i]
		if q.State == history.OutcomeError {
			continue // the query failed; no answer
		}
		if first == nil {
			if final(q.State) {
				first = q
			}
			continue
		}
		a := answer{state: first.State, version: first.Version, copy: first.Copy}
		b := answer{state: q.State, version: q.Version, copy: q.Copy}
		if !sameStrict(a, b) {
			return fmt.Sprintf("poll answered %s at %s, then %s at %s",
				a, first.At.Format(timeFormat), b, q.At.Format(timeFormat))
		}
	}
	return ""
}

// expirySlack is how close to its TTL a missing result counts as expired:
// decisions may be stamped by another machine's clock.
const expirySlack = time.Second

// readBacks counts the result records that say nothing about stability.
type readBacks struct {
	expired, failed   int
	firstID, firstErr string
}

// storedChanged compares the results read back for r with the outcome its
// device was told, and returns how they differ, or "". A missing result is
// a change only when less than its TTL has passed since the decision.
func storedChanged(ix *index, r *record, rb *readBacks) string {
	if len(r.results) == 0 || r.upload < 0 || !final(ix.s.Uploads[r.upload].Outcome) {
		return "" // nothing was answered: nothing-dropped's concern
	}
	u := &ix.s.Uploads[r.upload]
	told := answer{state: u.Outcome, version: u.Version, copy: u.Copy}
	for _, i := range r.results {
		back := &ix.s.Results[i]
		switch {
		case !back.Found && back.Error != "":
			if rb.failed++; rb.failed == 1 {
				rb.firstID, rb.firstErr = r.id, back.Error
			}
		case !back.Found:
			ttl := time.Duration(back.TTLSeconds) * time.Second
			age := back.At.Sub(decidedAt(ix, r))
			if ttl > 0 && age >= ttl-expirySlack {
				rb.expired++
				continue
			}
			return fmt.Sprintf("device was told %s, no result stored %s after the decision (result TTL %s)",
				told, age.Round(time.Millisecond), ttl)
		default:
			now := answer{state: back.State, version: back.Version, copy: back.Copy}
			if !told.same(now) {
				if back.Error != "" {
					return fmt.Sprintf("device was told %s, stored result now unreadable at %s (%s)",
						told, back.At.Format(timeFormat), back.Error)
				}
				return fmt.Sprintf("device was told %s, stored result now says %s at %s",
					told, now, back.At.Format(timeFormat))
			}
		}
	}
	return ""
}

// decidedAt is when r was first decided, by its decision records; without
// one, when its upload started (never later than the decision, so a missing
// result is then more readily taken as expired).
func decidedAt(ix *index, r *record) time.Time {
	var at time.Time
	for _, d := range r.decisions {
		var t time.Time
		switch d.kind {
		case history.KindCommit:
			t = ix.s.Commits[d.i].At
		case history.KindConflict:
			t = ix.s.Conflicts[d.i].At
		default:
			t = ix.s.Rejects[d.i].At
		}
		if !t.IsZero() && (at.IsZero() || t.Before(at)) {
			at = t
		}
	}
	if at.IsZero() && r.upload >= 0 {
		at = ix.s.Uploads[r.upload].Start
	}
	return at
}
