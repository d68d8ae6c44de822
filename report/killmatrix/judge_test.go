package killmatrix

import (
	"slices"
	"strings"
	"testing"

	"github.com/stormsim/stormsim/report"
	"github.com/stormsim/stormsim/sim/checker"
	"github.com/stormsim/stormsim/sim/selftest"
)

// TestRowOf_Problem_Cases: a run fails the self-test when a mutant is
// caught but not by everything its case documents, or when a run is
// inconclusive with no excuse (the harness not bound, the scenario's
// evidence met); never otherwise.
func TestRowOf_Problem_Cases(t *testing.T) {
	mutant := selftest.Case{Name: "no-fencing", Scenario: selftest.ScenarioRace,
		CaughtBy: []string{checker.NameOneWinner, checker.NameFencing, "scheduler.early == 0"}}
	real := selftest.Case{Name: selftest.RealName, Scenario: selftest.ScenarioRace}
	inv := func(fencing int) []report.Invariant {
		return []report.Invariant{{Name: checker.NameOneWinner, Violations: 2}, {Name: checker.NameFencing, Violations: fencing, OK: fencing == 0}}
	}
	gate := func(ok, inconclusive bool) []report.Gate {
		return []report.Gate{{Expr: "scheduler.early == 0", OK: ok, Inconclusive: inconclusive}}
	}
	bound := &report.Harness{Saturation: &report.Saturation{Bound: true}}
	tests := []struct {
		name   string
		c      selftest.Case
		r      report.Results
		status string
		want   string // a part of the problem; "" for none
	}{
		{"every claim caught", mutant, report.Results{Verdict: report.Fail, Invariants: inv(1), Gates: gate(false, false)}, "caught", ""},
		{"a claimed invariant held", mutant, report.Results{Verdict: report.Fail, Invariants: inv(0), Gates: gate(false, false)},
			"caught", "but not by fencing"},
		{"a claimed gate held", mutant, report.Results{Verdict: report.Fail, Invariants: inv(1), Gates: gate(true, false)},
			"caught", "but not by scheduler.early == 0"},
		{"a claimed gate the harness could not judge", mutant,
			report.Results{Verdict: report.Fail, Invariants: inv(1), Gates: gate(true, true), Harness: bound}, "caught", ""},
		{"mutant unjudged, harness bound", mutant,
			report.Results{Verdict: report.Inconclusive, Gates: gate(true, true), Harness: bound}, "inconclusive", ""},
		{"mutant unjudged, evidence not seen", mutant,
			report.Results{Verdict: report.Inconclusive, Reasons: []string{`evidence "x > 0" not seen (measured 0)`}}, "inconclusive", ""},
		{"mutant unjudged, no excuse", mutant,
			report.Results{Verdict: report.Inconclusive, Reasons: []string{"3 upload(s) still pending when the drain ended"}},
			"inconclusive", "harness was not bound"},
		{"real unjudged, fault skipped", real,
			report.Results{Verdict: report.Inconclusive, Reasons: []string{"faults[0] redis-outage needs min_injected 1 but was skipped (remote)"}},
			"inconclusive", ""},
		{"real unjudged, a fault acted too rarely", real,
			report.Results{Verdict: report.Inconclusive, Reasons: []string{"faults[1] handler-pause acted 0 time(s), fewer than its min_injected 3: ..."}},
			"inconclusive", ""},
		{"real unjudged, no excuse", real,
			report.Results{Verdict: report.Inconclusive, Reasons: []string{"planned load not reached: achieved ratio 0.50 < 0.90"}},
			"inconclusive", "evidence was met"},
		{"real passes", real, report.Results{Verdict: report.Pass}, "pass", ""},
		{"real fails: a failure, not a problem", real,
			report.Results{Verdict: report.Fail, Invariants: inv(1)}, "fail", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			row := RowOf(tt.c, &tt.r, 0)
			if row.Status != tt.status {
				t.Errorf("status %s, want %s", row.Status, tt.status)
			}
			switch {
			case tt.want == "" && row.Problem != "":
				t.Errorf("problem %q, want none", row.Problem)
			case tt.want != "" && !strings.Contains(row.Problem, tt.want):
				t.Errorf("problem %q, want it to say %q", row.Problem, tt.want)
			}
		})
	}
}

// TestReport_Tally_Cases: what the self-test's verdict (and so simrun
// selftest's exit code) makes of its judged rows.
func TestReport_Tally_Cases(t *testing.T) {
	pass := Row{Mutant: selftest.RealName, Scenario: "s", Status: "pass"}
	caught := Row{Mutant: "m", Scenario: "s", Status: "caught"}
	missed := Row{Mutant: "m", Scenario: "s", Status: "caught", Problem: "caught by a but not by b, which its case documents"}
	excused := Row{Mutant: "m", Scenario: "s", Status: "inconclusive"}
	unexcused := Row{Mutant: "m", Scenario: "s", Status: "inconclusive", Problem: "inconclusive, but ..."}
	survived := Row{Mutant: "m", Scenario: "s", Status: "survived"}
	tests := []struct {
		name    string
		runs    []Row
		planned int
		want    string
	}{
		{"all judged and caught", []Row{pass, caught}, 2, report.Pass},
		{"a documented catch missed", []Row{pass, missed}, 2, report.Fail},
		{"unjudged with an excuse", []Row{pass, excused}, 2, report.Inconclusive},
		{"unjudged without one", []Row{pass, unexcused}, 2, report.Fail},
		{"a survivor", []Row{pass, survived}, 2, report.Fail},
		{"a planned run missing", []Row{pass, caught}, 3, report.Fail},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := &Report{Runs: tt.runs, Planned: tt.planned}
			rep.tally()
			if got := rep.Verdict(); got != tt.want {
				t.Errorf("verdict %s, want %s (line %q)", got, tt.want, rep.VerdictLine())
			}
			if tt.want == report.Fail && !strings.HasPrefix(rep.VerdictLine(), "selftest: FAILED") {
				t.Errorf("verdict line %q", rep.VerdictLine())
			}
		})
	}
}

// TestSelect_Names: --mutants runs the named mutants and the real system on
// their scenarios; no names runs everything; an unknown name (or "real")
// is an error.
func TestSelect_Names(t *testing.T) {
	all, err := Select(nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := all.planned(), len(cases()); got != want {
		t.Errorf("no names: %d runs, want every case (%d)", got, want)
	}
	sel, err := Select([]string{"no-fencing", "scheduler-early"})
	if err != nil {
		t.Fatal(err)
	}
	var picked []string
	for _, c := range cases() {
		if sel.picks(c) {
			picked = append(picked, c.Name+"/"+c.Scenario)
		}
	}
	want := []string{"real/" + selftest.ScenarioRace, "real/" + selftest.ScenarioScheduler,
		"no-fencing/" + selftest.ScenarioRace, "scheduler-early/" + selftest.ScenarioScheduler}
	if !slices.Equal(picked, want) || sel.planned() != len(want) {
		t.Errorf("picked %v (planned %d), want %v", picked, sel.planned(), want)
	}
	for _, bad := range [][]string{{"no-such-mutant"}, {"no-fencing", "nope"}, {selftest.RealName}} {
		if _, err := Select(bad); err == nil {
			t.Errorf("Select(%q) accepted", bad)
		}
	}
}
