package checker

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stormsim/stormsim/sim/history"
)

func ms(n float64) time.Time { return genEpoch.Add(time.Duration(n * float64(time.Millisecond))) }

const (
	shaA = "aaaa000000000000000000000000000000000000000000000000000000000000"
	shaB = "bbbb000000000000000000000000000000000000000000000000000000000000"
	shaC = "cccc000000000000000000000000000000000000000000000000000000000000"
	shaD = "dddd000000000000000000000000000000000000000000000000000000000000"
	shaE = "eeee000000000000000000000000000000000000000000000000000000000000"
)

// cleanSet is a small correct history of one file: A commits v1, B (same
// base) loses and learns it by polling, C commits v2 on top, D is rejected;
// one scheduled event ran once, late.
func cleanSet() *history.Set {
	const user, path = "u1", "a.txt"
	up := func(id string, base int64, sha string, start, done float64, outcome history.Outcome, version int64, cp string) history.Upload {
		return history.Upload{T: history.KindUpload, ID: id, User: user, Device: "d-" + id, Path: path, Base: base,
			Size: 10, SHA256: sha, Intended: ms(start), Start: ms(start), Staged: ms(start + 1), Done: ms(done),
			Outcome: outcome, Version: version, Copy: cp}
	}
	fired := ms(10_000)
	return &history.Set{
		Uploads: []history.Upload{
			up("A", 0, shaA, 1, 4, history.OutcomeCommitted, 1, ""),
			up("B", 0, shaB, 1.5, 6, history.OutcomeConflict, 0, "copyB"),
			up("C", 1, shaC, 7, 10, history.OutcomeCommitted, 2, ""),
			up("D", 2, shaD, 11, 13, history.OutcomeRejected, 0, ""),
		},
		Commits: []history.Commit{
			{T: history.KindCommit, ID: "A", User: user, Path: path, Base: 0, Version: 1, SHA256: shaA, Fence: 1, At: ms(3)},
			{T: history.KindCommit, ID: "C", User: user, Path: path, Base: 1, Version: 2, SHA256: shaC, Fence: 3, At: ms(9)},
		},
		Conflicts: []history.Conflict{
			{T: history.KindConflict, ID: "B", User: user, Path: path, Base: 0, Head: 1, Copy: "copyB", At: ms(5)},
		},
		Rejects: []history.Reject{{T: history.KindReject, ID: "D", User: user, Path: path, Reason: "bad sha256", At: ms(12)}},
		Polls: []history.Poll{
			{T: history.KindPoll, ID: "B", At: ms(4), State: history.OutcomePending},
			{T: history.KindPoll, ID: "B", At: ms(6), State: history.OutcomeConflict, Copy: "copyB"},
			{T: history.KindPoll, ID: "B", At: ms(8), State: history.OutcomeError},
			{T: history.KindPoll, ID: "B", At: ms(9), State: history.OutcomeConflict, Copy: "copyB"},
		},
		Pushes: []history.Push{
			{T: history.KindPush, ID: "A", User: user, At: ms(3.5), State: history.OutcomeCommitted, Version: 1},
			{T: history.KindPush, ID: "C", User: user, At: ms(9.5), State: history.OutcomeCommitted, Version: 2},
			{T: history.KindPush, ID: "D", User: user, At: ms(12.5), State: history.OutcomeRejected},
		},
		Copies: []history.Copy{{T: history.KindCopy, ID: "B", Key: "copyB", SHA256: shaB, Found: true}},
		Finals: []history.Final{{T: history.KindFinal, User: user, Path: path, Version: 2, Head: 2, SHA256: shaC}},
		Scheds: []history.Sched{{T: history.KindSched, ID: "ev1", Due: ms(0), Fired: &fired, Runs: 1}},
	}
}

var allNames = []string{NameOneWinner, NameNoLostUpdate, NameNothingDropped, NameAgreement, NameIdempotence,
	NameStability, NameFencing, NameCleanliness, NameScheduler, NameLinearizability}

func TestCheck_Clean(t *testing.T) {
	r := Check(cleanSet(), Options{Fencing: true})
	var names []string
	for _, c := range r.Checks {
		names = append(names, c.Name)
		if !c.OK || c.Violations != 0 || c.Inconclusive || len(c.Examples) != 0 {
			t.Errorf("%s: %+v", c.Name, c)
		}
	}
	if !slices.Equal(names, allNames) {
		t.Errorf("checks %v, want %v", names, allNames)
	}
	if !r.OK() || r.Violations != 0 || r.Inconclusive {
		t.Errorf("report %+v", r)
	}
}

func TestCheck_OptionalChecks(t *testing.T) {
	s := cleanSet()
	s.Scheds = nil
	r := Check(s, Options{})
	for _, name := range []string{NameFencing, NameScheduler} {
		if _, ok := r.Find(name); ok {
			t.Errorf("%s ran without being asked for", name)
		}
	}
	if len(r.Checks) != len(allNames)-2 {
		t.Errorf("%d checks", len(r.Checks))
	}
}

// TestCheck_Fencing_IssuedInOrder: fence records issued before each commit
// with no higher token before it, and a shared token after a rollback, are
// no violation.
func TestCheck_Fencing_IssuedInOrder(t *testing.T) {
	s := cleanSet()
	s.Fences = []history.Fence{
		{T: history.KindFence, User: "u1", Path: "a.txt", Fence: 1, ID: "A", At: ms(1.2)},
		{T: history.KindFence, User: "u1", Path: "a.txt", Fence: 2, ID: "B", At: ms(3.5)},
		{T: history.KindFence, User: "u1", Path: "a.txt", Fence: 3, ID: "C", At: ms(7.5)},
		{T: history.KindFence, User: "u1", Path: "a.txt", Fence: 3, ID: "D", At: ms(8.5)}, // rolled back: shared
	}
	r, _ := Check(s, Options{Fencing: true}).Find(NameFencing)
	if !r.OK || !strings.Contains(r.Detail, "4 fences issued") {
		t.Errorf("fencing = %+v, want ok over 4 fences", r)
	}
}

func TestCheck_Violations(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(s *history.Set)
		check   string
		example string
		only    bool // every other check must pass
	}{
		{"lost update: final holds an older write", func(s *history.Set) { s.Finals[0].SHA256 = shaA }, NameNoLostUpdate, "C", false},
		{"lost update: commit on a stale base", func(s *history.Set) {
			s.Commits[1].Base = 0
		}, NameNoLostUpdate, "C", false},
		{"gap in versions", func(s *history.Set) {
			s.Commits[1].Version, s.Commits[1].Base, s.Uploads[2].Version = 3, 2, 3
			s.Pushes[1].Version = 3
			s.Finals[0].Version, s.Finals[0].Head = 3, 3
		}, NameNoLostUpdate, "C", false},
		{"no final record", func(s *history.Set) { s.Finals = nil }, NameNoLostUpdate, "C", false},
		{"device told committed without a commit", func(s *history.Set) {
			s.Uploads[3].Outcome, s.Uploads[3].Version = history.OutcomeCommitted, 3
		}, NameNoLostUpdate, "D", false},
		{"two winners", func(s *history.Set) {
			s.Commits = append(s.Commits, history.Commit{T: history.KindCommit, ID: "B", User: "u1", Path: "a.txt",
				Base: 0, Version: 1, SHA256: shaB, Fence: 2, At: ms(5)})
			s.Conflicts = nil
		}, NameOneWinner, "B", false},
		{"dropped upload", func(s *history.Set) {
			// Staged, never decided, and nothing staged is left: bytes gone.
			// (Undecided with its bytes staged would be pending, and decided
			// after the device gave up would be no loss: pending_test.go.)
			s.Uploads[1].Outcome, s.Uploads[1].Copy = history.OutcomeUnknown, ""
			s.Conflicts, s.Copies, s.Polls = nil, nil, nil
		}, NameNothingDropped, "B", false},
		{"conflicted copy missing", func(s *history.Set) { s.Copies[0].Found = false }, NameNothingDropped, "B", true},
		{"conflicted copy not read back", func(s *history.Set) { s.Copies = nil }, NameNothingDropped, "B", true},
		{"conflicted copy holds other bytes", func(s *history.Set) { s.Copies[0].SHA256 = shaA }, NameNothingDropped, "B", true},
		{"disagreeing push", func(s *history.Set) { s.Pushes[0].Version = 2 }, NameAgreement, "A", true},
		{"push names another copy", func(s *history.Set) {
			s.Pushes = append(s.Pushes, history.Push{T: history.KindPush, ID: "B", User: "u1", At: ms(5.5),
				State: history.OutcomeConflict, Copy: "elsewhere"})
		}, NameAgreement, "B", true},
		{"device disagrees with server", func(s *history.Set) {
			s.Uploads[0].Version = 7
		}, NameAgreement, "A", false},
		{"second push", func(s *history.Set) { s.Pushes = append(s.Pushes, s.Pushes[0]) }, NameIdempotence, "A", true},
		{"second decision", func(s *history.Set) { s.Rejects = append(s.Rejects, s.Rejects[0]) }, NameIdempotence, "D", true},
		{"changed poll answer", func(s *history.Set) {
			s.Polls = append(s.Polls, history.Poll{T: history.KindPoll, ID: "B", At: ms(7), State: history.OutcomeCommitted, Version: 2})
		}, NameStability, "B", false},
		{"poll back to pending", func(s *history.Set) {
			s.Polls = append(s.Polls, history.Poll{T: history.KindPoll, ID: "B", At: ms(7), State: history.OutcomePending})
		}, NameStability, "B", true},
		{"stale fence", func(s *history.Set) { s.Commits[1].Fence = 1 }, NameFencing, "C", true},
		// Two commits of one version, the second under a higher token and
		// recorded earlier: whatever the clocks say, the lower was stale.
		{"one version committed under two fences", func(s *history.Set) {
			s.Commits = append(s.Commits, history.Commit{T: history.KindCommit, ID: "A2", User: s.Commits[0].User,
				Path: s.Commits[0].Path, Base: 0, Version: 1, SHA256: s.Commits[0].SHA256, Fence: 2, At: ms(2)})
		}, NameFencing, "A", false},
		{"commit after a higher fence was issued", func(s *history.Set) {
			// A took fence 1, lost its lock; B took fence 2 at 2ms; A still
			// committed at 3ms under fence 1 (B then lost: no second commit).
			s.Fences = []history.Fence{
				{T: history.KindFence, User: "u1", Path: "a.txt", Fence: 1, ID: "A", At: ms(1.2)},
				{T: history.KindFence, User: "u1", Path: "a.txt", Fence: 2, ID: "B", At: ms(2)},
				{T: history.KindFence, User: "u1", Path: "a.txt", Fence: 3, ID: "C", At: ms(8)},
			}
		}, NameFencing, "A", true},
		{"leftover lock", func(s *history.Set) {
			s.Leftovers = append(s.Leftovers, history.Leftover{T: history.KindLeftover, Kind: "lock", Key: "lock:u1:a.txt"})
		}, NameCleanliness, "lock:u1:a.txt", true},
		{"early sched", func(s *history.Set) {
			early := ms(-1)
			s.Scheds[0].Fired = &early
		}, NameScheduler, "ev1", true},
		{"missing sched", func(s *history.Set) { s.Scheds[0].Fired, s.Scheds[0].Runs = nil, 0 }, NameScheduler, "ev1", true},
		{"duplicate sched", func(s *history.Set) { s.Scheds[0].Runs = 2 }, NameScheduler, "ev1", true},
		{"conflict while its base was the head", func(s *history.Set) {
			// E edits v1 after A's commit and before C starts, and loses:
			// each record is consistent, but no order of the decisions
			// explains it (the head was 1 throughout E's interval).
			s.Uploads = append(s.Uploads, history.Upload{T: history.KindUpload, ID: "E", User: "u1", Device: "d-E",
				Path: "a.txt", Base: 1, Size: 10, SHA256: shaE, Intended: ms(4), Start: ms(4), Staged: ms(4.5),
				Done: ms(6.5), Outcome: history.OutcomeConflict, Copy: "copyE"})
			s.Conflicts = append(s.Conflicts, history.Conflict{T: history.KindConflict, ID: "E", User: "u1",
				Path: "a.txt", Base: 1, Head: 2, Copy: "copyE", At: ms(6)})
			s.Copies = append(s.Copies, history.Copy{T: history.KindCopy, ID: "E", Key: "copyE", SHA256: shaE, Found: true})
			s.Pushes = append(s.Pushes, history.Push{T: history.KindPush, ID: "E", User: "u1", At: ms(6.2),
				State: history.OutcomeConflict, Copy: "copyE"})
		}, NameLinearizability, "E", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := cleanSet()
			tt.mutate(s)
			r := Check(s, Options{Fencing: true})
			c, ok := r.Find(tt.check)
			if !ok {
				t.Fatalf("no check %s", tt.check)
			}
			if c.OK || c.Violations == 0 {
				t.Fatalf("%s passed: %+v", tt.check, c)
			}
			if !slices.Contains(c.Examples, tt.example) {
				t.Errorf("%s examples %v, want %s; detail %s", tt.check, c.Examples, tt.example, c.Detail)
			}
			if c.Detail == "" {
				t.Errorf("%s: empty detail", tt.check)
			}
			if r.OK() || r.Violations < c.Violations {
				t.Errorf("report %+v", r)
			}
			if tt.only {
				for _, o := range r.Checks {
					if o.Name != tt.check && !o.OK {
						t.Errorf("%s also failed: %+v", o.Name, o)
					}
				}
			}
		})
	}
}

func TestCheck_MaxExamples(t *testing.T) {
	s := cleanSet()
	for i := range 30 {
		s.Leftovers = append(s.Leftovers, history.Leftover{T: history.KindLeftover, Kind: "staged", Key: "staging/u1/" + string(rune('a'+i))})
	}
	r := Check(s, Options{MaxExamples: 4})
	c, _ := r.Find(NameCleanliness)
	if c.Violations != 30 || len(c.Examples) != 4 {
		t.Errorf("violations %d examples %v", c.Violations, c.Examples)
	}
}

// TestCheck_LinearizabilityInconclusive: a budget too small to search a
// segment is inconclusive, never a pass; with time it passes.
func TestCheck_LinearizabilityInconclusive(t *testing.T) {
	// A [0,10] commits v1, X [5,15] loses on base 1, C [12,20] commits v2:
	// X overlaps both commits, so neither reduction removes it.
	s := &history.Set{
		Uploads: []history.Upload{
			{ID: "A", User: "u", Path: "p", Start: ms(0), Outcome: history.OutcomeCommitted, Version: 1, SHA256: shaA},
			{ID: "X", User: "u", Path: "p", Base: 1, Start: ms(5), Outcome: history.OutcomeConflict, Copy: "cx", SHA256: shaB},
			{ID: "C", User: "u", Path: "p", Base: 1, Start: ms(12), Outcome: history.OutcomeCommitted, Version: 2, SHA256: shaC},
		},
		Commits: []history.Commit{
			{ID: "A", User: "u", Path: "p", Version: 1, SHA256: shaA, Fence: 1, At: ms(10)},
			{ID: "C", User: "u", Path: "p", Base: 1, Version: 2, SHA256: shaC, Fence: 2, At: ms(20)},
		},
		Conflicts: []history.Conflict{{ID: "X", User: "u", Path: "p", Base: 1, Head: 2, Copy: "cx", At: ms(15)}},
		Copies:    []history.Copy{{ID: "X", Key: "cx", SHA256: shaB, Found: true}},
		Finals:    []history.Final{{User: "u", Path: "p", Version: 2, Head: 2, SHA256: shaC}},
	}
	r := Check(s, Options{LinearizabilityTimeout: time.Nanosecond})
	c, _ := r.Find(NameLinearizability)
	if !c.Inconclusive || c.OK || !r.Inconclusive || r.OK() {
		t.Errorf("tiny budget: %+v", c)
	}
	r = Check(s, Options{})
	if !r.OK() {
		t.Errorf("enough budget: %+v", r)
	}
}

// readBackSet is cleanSet with the stored result of every answered upload
// read back after the drain, each as its device was told, under a one-minute
// result TTL.
