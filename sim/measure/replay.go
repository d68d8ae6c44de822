package measure

import (
	"sort"
	"time"

	"github.com/stormsim/stormsim/sim/history"
)

// Replay feeds a recorded history's uploads through a new Recorder whose
// seconds count from start, as the run fed them: each upload starts at its
// Start and ends at its Done, with the instant its commit, conflict or
// reject record was decided. Figures rebuilt this way (simrun report
// --merge joins shards so) come from the same code as a live run's, so the
// two cannot drift apart.
//
// The history does not keep what the run recorded beside the uploads:
// error kinds and causes, the goroutine gauge, fault windows and the
// reconciler's count stay empty.
func Replay(start time.Time, set *history.Set) *Recorder {
	r := NewRecorder(start)
	decided := make(map[string]time.Time, len(set.Commits)+len(set.Conflicts)+len(set.Rejects))
	for _, c := range set.Commits {
		decided[c.ID] = c.At
	}
	for _, c := range set.Conflicts {
		decided[c.ID] = c.At
	}
	for _, c := range set.Rejects {
		decided[c.ID] = c.At
	}
	type event struct {
		at  time.Time
		end bool
		u   *history.Upload
	}
	events := make([]event, 0, 2*len(set.Uploads))
	for i := range set.Uploads {
		u := &set.Uploads[i]
		start := u.Start
		if start.IsZero() {
			start = u.Done // never in flight: an upload is started before it ends
		}
		events = append(events, event{at: start, u: u}, event{at: u.Done, end: true, u: u})
	}
	// In time order; at one instant, ends before starts (an upload that
	// ended as another began was not in flight with it), and an upload's
	// own start before its end.
	sort.SliceStable(events, func(i, j int) bool {
		a, b := events[i], events[j]
		if !a.at.Equal(b.at) {
			return a.at.Before(b.at)
		}
		if a.u == b.u {
			return !a.end && b.end
		}
		return a.end && !b.end
	})
	for _, e := range events {
		if e.end {
			r.Finished(e.u, decided[e.u.ID], "")
		} else {
			r.started(e.at)
		}
	}
	return r
}
