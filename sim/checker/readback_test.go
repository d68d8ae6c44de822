package checker

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stormsim/stormsim/sim/history"
)

func readBackSet() *history.Set {
	s := cleanSet()
	back := func(id string, state history.Outcome, version int64, cp string) history.Result {
		return history.Result{T: history.KindResult, ID: id, User: "u1", State: state, Version: version, Copy: cp,
			Found: true, At: ms(20_000), TTLSeconds: 60}
	}
	s.Results = []history.Result{
		back("A", history.OutcomeCommitted, 1, ""),
		back("B", history.OutcomeConflict, 0, "copyB"),
		back("C", history.OutcomeCommitted, 2, ""),
		back("D", history.OutcomeRejected, 0, ""),
	}
	return s
}

// TestCheck_StabilityReadBack: stability compares each result read back
// after the drain with what the device was told; a missing result is a
// violation only within its TTL of the decision, and a failed lookup makes
// the check inconclusive. Every other check passes throughout.
func TestCheck_StabilityReadBack(t *testing.T) {
	missing := func(id string, at time.Time) func(s *history.Set) {
		return func(s *history.Set) {
			for i := range s.Results {
				if s.Results[i].ID == id {
					s.Results[i].Found, s.Results[i].State, s.Results[i].Version, s.Results[i].Copy = false, "", 0, ""
					s.Results[i].At = at
				}
			}
		}
	}
	tests := []struct {
		name         string
		mutate       func(s *history.Set)
		violation    bool
		inconclusive bool
		detail       string // in the check's detail
	}{
		{"matches", func(*history.Set) {}, false, false, "4 polls, 4 results read back (0 expired)"},
		{"committed result now a conflict", func(s *history.Set) {
			s.Results[0].State, s.Results[0].Version, s.Results[0].Copy = history.OutcomeConflict, 0, "copyA"
		}, true, false, "A: device was told committed v1, stored result now says conflict copyA"},
		{"committed result now another version", func(s *history.Set) { s.Results[2].Version = 3 },
			true, false, "C: device was told committed v2, stored result now says committed v3"},
		{"conflict result now names another copy", func(s *history.Set) { s.Results[1].Copy = "elsewhere" },
			true, false, "B: device was told conflict copyB, stored result now says conflict elsewhere"},
		{"rejected result now committed", func(s *history.Set) {
			s.Results[3].State, s.Results[3].Version = history.OutcomeCommitted, 3
		}, true, false, "D: device was told rejected, stored result now says committed v3"},
		{"missing but expired", missing("A", ms(3).Add(61*time.Second)), false, false, "(1 expired)"},
		{"missing within the TTL", missing("A", ms(3).Add(30*time.Second)), true, false,
			"A: device was told committed v1, no result stored 30s after the decision (result TTL 1m0s)"},
		{"lookup failed", func(s *history.Set) {
			missing("C", ms(20_000))(s)
			s.Results[2].Error = "read result: connection refused"
		}, false, true, "1 result(s) could not be read back, e.g. C: read result: connection refused"},
		{"no answer to compare with", func(s *history.Set) {
			s.Results = append(s.Results, history.Result{T: history.KindResult, ID: "Z", User: "u1", At: ms(20_000), TTLSeconds: 60})
		}, false, false, "5 results read back"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := readBackSet()
			tt.mutate(s)
			r := Check(s, Options{Fencing: true})
			c, _ := r.Find(NameStability)
			if got := c.Violations > 0; got != tt.violation {
				t.Errorf("violations %d, want violation %v: %s", c.Violations, tt.violation, c.Detail)
			}
			if c.Inconclusive != tt.inconclusive || c.OK != (!tt.violation && !tt.inconclusive) {
				t.Errorf("ok %v inconclusive %v: %s", c.OK, c.Inconclusive, c.Detail)
			}
			if !strings.Contains(c.Detail, tt.detail) {
				t.Errorf("detail %q, want it to contain %q", c.Detail, tt.detail)
			}
			if tt.violation && len(c.Examples) != 1 {
				t.Errorf("examples %v, want the one upload", c.Examples)
			}
			for _, o := range r.Checks {
				if o.Name != NameStability && !o.OK {
					t.Errorf("%s also failed: %+v", o.Name, o)
				}
			}
		})
	}
}

// TestCheck_StabilityWithoutReadBack: a history from before result records
// (or from an outside tool) checks stability from the polls alone, with the
// same summary as before.
func TestCheck_StabilityWithoutReadBack(t *testing.T) {
	c, _ := Check(cleanSet(), Options{}).Find(NameStability)
	if !c.OK || c.Detail != "4 polls" {
		t.Errorf("%+v", c)
	}
}

// An event whose insert was never stored (refused) was never scheduled: it
// is not missed. A refused event that ran anyway still counts its runs.
func TestCheck_SchedRefusedNotMissed(t *testing.T) {
	s := cleanSet()
	s.Scheds = append(s.Scheds, history.Sched{T: history.KindSched, ID: "ev2", Due: ms(1), Refused: true})
	c, ok := Check(s, Options{Fencing: true}).Find(NameScheduler)
	if !ok || !c.OK {
		t.Fatalf("refused insert counted against the scheduler: %+v", c)
	}
	if !strings.Contains(c.Detail, "1 inserts refused") {
		t.Errorf("detail %q does not name the refused insert", c.Detail)
	}
	s.Scheds[1].Refused = false
	if c, _ := Check(s, Options{Fencing: true}).Find(NameScheduler); c.OK {
		t.Fatalf("an accepted event that never ran passed: %+v", c)
	}
}

// TestCheck_Fencing_RecordOrder: v1 committed twice (tokens 1 and 4) and v2
// under token 3. The verdict and its examples must not depend on which of
// the two v1 commits the history lists last: v2 is compared with the
// highest token of v1.
func TestCheck_Fencing_RecordOrder(t *testing.T) {
	run := func(reverse bool) Result {
		s := cleanSet()
		dup := history.Commit{T: history.KindCommit, ID: "A2", User: "u1", Path: "a.txt", Base: 0, Version: 1,
			SHA256: shaA, Fence: 4, At: ms(2)}
		if reverse {
			s.Commits = append([]history.Commit{dup}, s.Commits...)
		} else {
			s.Commits = append(s.Commits, dup)
		}
		r, _ := Check(s, Options{Fencing: true}).Find(NameFencing)
		return r
	}
	a, b := run(false), run(true)
	if a.OK || b.OK {
		t.Fatalf("fencing ok with a stale v1 and v2 under token 3 < 4: %+v / %+v", a, b)
	}
	if a.Violations != b.Violations || !slices.Equal(slices.Sorted(slices.Values(a.Examples)), slices.Sorted(slices.Values(b.Examples))) {
		t.Errorf("verdict depends on record order:\n%+v\n%+v", a, b)
	}
	const want = "v2 (C) fence 3, v1 (A2) fence 4"
	for _, r := range []Result{a, b} {
		if !strings.Contains(r.Detail, want) {
			t.Errorf("detail %q lacks %q", r.Detail, want)
		}
	}
}
