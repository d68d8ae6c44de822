package checker

import (
	"fmt"
	"strings"
	"time"

	"github.com/stormsim/stormsim/sim/history"
)

// Liveness beside safety: which uploads are merely undecided when the
// drain ended (pending) and which are evidence of a loss, and what after
// the drain is litter rather than the kept bytes of a pending upload.

// checkNothingDropped: every upload ends committed, conflict or rejected,
// and every conflict kept the loser's bytes as a conflicted copy. It fires
// only on evidence that something was lost or failed: an upload the device
// saw fail (outcome error), or one that was staged, never decided and whose
// staged object is gone. An upload merely undecided when the drain ended
// (a pending record: its bytes are still staged) is a liveness figure,
// Pending, not a violation; neither is an upload the server decided after
// its device gave up waiting (outcome unknown, a decision record).
func checkNothingDropped(ix *index, o Options) Result {
	c := newCollector(NameNothingDropped, o)
	pending, late, cut := 0, 0, 0
	for i := range ix.recs {
		r := &ix.recs[i]
		if r.upload < 0 {
			continue
		}
		u := &ix.s.Uploads[r.upload]
		switch {
		case final(u.Outcome):
		case len(r.decisions) == 0 && !ix.isPending(r) && ix.cutByStop(u):
			cut++ // the harness stopped the run under it: not the system's doing
		case u.Outcome == history.OutcomeUnknown && ix.isPending(r):
			pending++
		case u.Outcome == history.OutcomeUnknown && len(r.decisions) > 0:
			late++
		case u.Outcome == history.OutcomeUnknown:
			c.add([]string{u.ID}, "%s: outcome unknown (%s), never decided, and no pending record says its bytes are still staged: lost", u.ID, u.Error)
		default:
			c.add([]string{u.ID}, "%s: outcome %q %s", u.ID, u.Outcome, u.Error)
		}
	}
	copies := 0
	for i := range ix.recs {
		r := &ix.recs[i]
		for _, d := range r.decisions {
			if d.kind == history.KindConflict {
				copies++
				if msg := copyProof(ix, r, &ix.s.Conflicts[d.i]); msg != "" {
					c.add([]string{r.id}, "%s: %s", r.id, msg)
				}
				break // repeated decisions are idempotence's concern
			}
		}
	}
	summary := fmt.Sprintf("%d uploads, %d conflicted copies", len(ix.s.Uploads), copies)
	if pending > 0 {
		summary += fmt.Sprintf(", %d still pending (staged, undecided)", pending)
	}
	if late > 0 {
		summary += fmt.Sprintf(", %d decided after their device gave up", late)
	}
	if cut > 0 {
		summary += fmt.Sprintf(", %d cut off by the harness (run %s at %s), not judged", cut, ix.stop.Reason,
			ix.stop.At.Format(time.RFC3339Nano))
	}
	return c.result(summary)
}

// pendingUploads counts the uploads undecided when the drain ended, by
// where their event was (history.Pending reasons), and the uploads whose
// device gave up (outcome unknown) but which the server decided later.
func pendingUploads(ix *index) (byReason map[string]int, n, decidedLate int) {
	byReason = map[string]int{}
	for i := range ix.recs {
		r := &ix.recs[i]
		if r.upload >= 0 && ix.s.Uploads[r.upload].Outcome == history.OutcomeUnknown && len(r.decisions) > 0 {
			decidedLate++
		}
		if !ix.isPending(r) {
			continue
		}
		n++
		byReason[ix.s.Pendings[r.pending[0]].Reason]++
	}
	return byReason, n, decidedLate
}

// checkCleanliness: nothing staged, locked or half uploaded after the
// drain. The staged object of a pending upload is its kept bytes, not
// litter, and a lock of a user with a pending upload may be that upload's
// handler's, stopped when the drain ended: both are counted apart, as are
// the staged object and locks of an upload whose handler was stopped
// mid-work (pending reason running) after deciding.
func checkCleanliness(ix *index, o Options) Result {
	c := newCollector(NameCleanliness, o)
	pendingUsers, pendingKeys := map[string]bool{}, map[string]bool{}
	for i := range ix.recs {
		r := &ix.recs[i]
		for _, j := range r.pending {
			// A decided upload whose event was still in flight (a handler
			// stopped mid-work, a retry of its cleanup queued) is excused
			// the same way; one whose retries ran out (dead) is not.
			if p := &ix.s.Pendings[j]; ix.isPending(r) || inFlight(p.Reason) {
				pendingUsers[p.User] = true
				pendingKeys[p.Key] = true
			}
		}
	}
	excused := 0
	for _, l := range ix.s.Leftovers {
		switch {
		case l.Kind == "staged" && pendingKeys[l.Key]:
			excused++
		case l.Kind == "lock" && pendingUsers[lockUser(l.Key)]:
			excused++
		default:
			c.add([]string{l.Key}, "%s %s left", l.Kind, l.Key)
		}
	}
	summary := fmt.Sprintf("%d leftovers", len(ix.s.Leftovers))
	if excused > 0 {
		summary += fmt.Sprintf(" (%d of them staged objects or locks of pending uploads)", excused)
	}
	return c.result(summary)
}

// lockUser is the user named by a lock key ("PREFIX{user}:lock:..."), or "".
func lockUser(key string) string {
	i, j := strings.Index(key, "{"), strings.Index(key, "}")
	if i < 0 || j < i {
		return ""
	}
	return key[i+1 : j]
}
