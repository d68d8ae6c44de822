package checker

import (
	"strings"
	"testing"

	"github.com/stormsim/stormsim/sim/history"
)

// TestCheck_NothingDropped_PendingIsNotLost: an upload still undecided when
// the drain ended, its bytes staged, is pending (a liveness figure), and an
// upload decided after its device gave up is no loss either; only an upload
// staged, never decided and no longer staged is evidence of a drop.
func TestCheck_NothingDropped_PendingIsNotLost(t *testing.T) {
	const user, path = "u1", "b.txt"
	unknown := func(id string) history.Upload {
		return history.Upload{T: history.KindUpload, ID: id, User: user, Device: "d", Path: path, Size: 10, SHA256: shaE,
			Intended: ms(20), Start: ms(20), Staged: ms(21), Done: ms(50), Outcome: history.OutcomeUnknown}
	}
	pending := func(id, reason string) history.Pending {
		return history.Pending{T: history.KindPending, ID: id, User: user, Key: "staging/u1/" + id, Reason: reason}
	}
	staged := func(id string) history.Leftover {
		return history.Leftover{T: history.KindLeftover, Kind: "staged", Key: "staging/u1/" + id}
	}
	tests := []struct {
		name         string
		lost         int // no-lost-update violations
		add          func(s *history.Set)
		dropped      int // nothing-dropped violations
		unclean      int // cleanliness violations
		pending      int
		reasons      map[string]int
		decidedLate  int
		detailSubstr string
	}{
		{name: "queued and retrying are pending", add: func(s *history.Set) {
			s.Uploads = append(s.Uploads, unknown("P1"), unknown("P2"))
			s.Pendings = append(s.Pendings, pending("P1", history.PendingQueued), pending("P2", history.PendingRetrying))
			s.Leftovers = append(s.Leftovers, staged("P1"), staged("P2"),
				history.Leftover{T: history.KindLeftover, Kind: "lock", Key: "stormsim:{u1}:lock:b.txt"})
		}, pending: 2, reasons: map[string]int{history.PendingQueued: 1, history.PendingRetrying: 1}, detailSubstr: "2 still pending"},
		{name: "decided after the device gave up", add: func(s *history.Set) {
			s.Uploads = append(s.Uploads, unknown("L"))
			s.Conflicts = append(s.Conflicts, history.Conflict{T: history.KindConflict, ID: "L", User: user, Path: path, Head: 0, Copy: "copyL", At: ms(60)})
			s.Copies = append(s.Copies, history.Copy{T: history.KindCopy, ID: "L", Key: "copyL", SHA256: shaE, Found: true})
		}, decidedLate: 1, reasons: map[string]int{}, detailSubstr: "1 decided after their device gave up"},
		{name: "undecided and no longer staged is lost", add: func(s *history.Set) {
			s.Uploads = append(s.Uploads, unknown("X"))
		}, dropped: 1, reasons: map[string]int{}, detailSubstr: "lost"},
		{name: "a decided upload's staged object after its retries ran out is a leftover", add: func(s *history.Set) {
			s.Uploads = append(s.Uploads, unknown("Y"))
			s.Conflicts = append(s.Conflicts, history.Conflict{T: history.KindConflict, ID: "Y", User: user, Path: path, Copy: "copyY", At: ms(60)})
			s.Copies = append(s.Copies, history.Copy{T: history.KindCopy, ID: "Y", Key: "copyY", SHA256: shaE, Found: true})
			s.Pendings = append(s.Pendings, pending("Y", history.PendingDead))
			s.Leftovers = append(s.Leftovers, staged("Y"))
		}, unclean: 1, decidedLate: 1, reasons: map[string]int{}},
		{name: "a handler stopped mid-work leaves no litter", add: func(s *history.Set) {
			s.Uploads = append(s.Uploads, unknown("R"))
			s.Conflicts = append(s.Conflicts, history.Conflict{T: history.KindConflict, ID: "R", User: user, Path: path, Copy: "copyR", At: ms(60)})
			s.Copies = append(s.Copies, history.Copy{T: history.KindCopy, ID: "R", Key: "copyR", SHA256: shaE, Found: true})
			s.Pendings = append(s.Pendings, pending("R", history.PendingRunning))
			s.Leftovers = append(s.Leftovers, staged("R"), history.Leftover{T: history.KindLeftover, Kind: "lock", Key: "stormsim:{u1}:lock:b.txt"})
		}, decidedLate: 1, reasons: map[string]int{}},
		{name: "a half-done commit with its retry queued is not judged", add: func(s *history.Set) {
			s.Uploads = append(s.Uploads, unknown("H"))
			s.Finals = append(s.Finals, history.Final{T: history.KindFinal, User: user, Path: path, Head: 1})
			s.Pendings = append(s.Pendings, pending("H", history.PendingRetrying))
		}, pending: 1, reasons: map[string]int{history.PendingRetrying: 1}},
		{name: "a half-done commit with nothing in flight is a lost update", add: func(s *history.Set) {
			s.Uploads = append(s.Uploads, unknown("H"))
			s.Finals = append(s.Finals, history.Final{T: history.KindFinal, User: user, Path: path, Head: 1})
			s.Pendings = append(s.Pendings, pending("H", history.PendingLost))
			s.Leftovers = append(s.Leftovers, staged("H"))
		}, lost: 1, pending: 1, reasons: map[string]int{history.PendingLost: 1}},
		{name: "an upload the harness's stop cut off is not judged", add: func(s *history.Set) {
			u := unknown("S")
			u.Error = "stopped by the harness: context canceled"
			s.Uploads = append(s.Uploads, u)
			s.Stops = append(s.Stops, history.Stop{T: history.KindStop, Reason: history.StopInterrupted, At: ms(50)})
		}, reasons: map[string]int{}, detailSubstr: "1 cut off by the harness (run interrupted"},
		{name: "an upload lost before the stop is still lost", add: func(s *history.Set) {
			s.Uploads = append(s.Uploads, unknown("Q"))
			s.Stops = append(s.Stops, history.Stop{T: history.KindStop, Reason: history.StopAborted, At: ms(51)})
		}, dropped: 1, reasons: map[string]int{}, detailSubstr: "lost"},
		{name: "a failed upload is still a violation", add: func(s *history.Set) {
			u := unknown("E")
			u.Outcome, u.Error = history.OutcomeError, "staging put: HTTP 503"
			s.Uploads = append(s.Uploads, u)
		}, dropped: 1, reasons: map[string]int{}, detailSubstr: "HTTP 503"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := cleanSet()
			tt.add(s)
			r := Check(s, Options{Fencing: true})
			nd, _ := r.Find(NameNothingDropped)
			cl, _ := r.Find(NameCleanliness)
			if nl, _ := r.Find(NameNoLostUpdate); nl.Violations != tt.lost {
				t.Errorf("no-lost-update %d (%s), want %d", nl.Violations, nl.Detail, tt.lost)
			}
			if nd.Violations != tt.dropped || cl.Violations != tt.unclean {
				t.Errorf("nothing-dropped %d (%s), cleanliness %d (%s); want %d, %d",
					nd.Violations, nd.Detail, cl.Violations, cl.Detail, tt.dropped, tt.unclean)
			}
			if r.Pending != tt.pending || r.DecidedLate != tt.decidedLate || len(r.PendingReasons) != len(tt.reasons) {
				t.Errorf("pending %d %v, decided late %d; want %d %v, %d", r.Pending, r.PendingReasons, r.DecidedLate,
					tt.pending, tt.reasons, tt.decidedLate)
			}
			for k, v := range tt.reasons {
				if r.PendingReasons[k] != v {
					t.Errorf("pending %s = %d, want %d", k, r.PendingReasons[k], v)
				}
			}
			if !strings.Contains(nd.Detail, tt.detailSubstr) {
				t.Errorf("nothing-dropped detail %q lacks %q", nd.Detail, tt.detailSubstr)
			}
		})
	}
}
