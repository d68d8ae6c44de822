package killmatrix

import (
	"strings"
	"testing"

	"github.com/stormsim/stormsim/report"
	"github.com/stormsim/stormsim/sim/selftest"
)

func TestReport_VerdictLine_Names(t *testing.T) {
	caught := Row{Mutant: "no-lock", Status: "caught", CaughtBy: []string{"one-winner"}}
	survived := Row{Mutant: "loser-dropped", Status: "survived", CaughtBy: []string{}}
	failed := Row{Mutant: selftest.RealName, Scenario: "selftest-race", Status: "fail", Reasons: []string{"gate x"}}
	tests := []struct {
		name string
		runs []Row
		want string
	}{
		{"survivor named", []Row{caught, survived}, "mutants not caught: loser-dropped"},
		{"real failure named", []Row{caught, failed}, "real system on selftest-race: gate x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := &Report{Runs: tt.runs}
			for _, r := range tt.runs {
				switch r.Status {
				case "survived":
					rep.Survivors = append(rep.Survivors, r.Mutant)
				case "fail":
					rep.Failures = append(rep.Failures, "real system on "+r.Scenario+": "+strings.Join(r.Reasons, "; "))
				}
			}
			if got := rep.VerdictLine(); !strings.HasPrefix(got, "selftest: FAILED") || !strings.Contains(got, tt.want) {
				t.Errorf("verdict %q, want it to name %q", got, tt.want)
			}
		})
	}
}

func TestRowOf_Cells(t *testing.T) {
	c := selftest.Case{Name: "loser-dropped", Scenario: selftest.ScenarioRace, CaughtBy: []string{"nothing-dropped", "fencing"}}
	r := &report.Results{Verdict: report.Fail,
		Invariants: []report.Invariant{{Name: "nothing-dropped", Violations: 3}, {Name: "fencing", OK: true},
			{Name: "linearizability", Inconclusive: true}},
		Gates: []report.Gate{{Expr: "uploads.unknown == 0", OK: true}, {Expr: "invariants.violations == 0", Value: 3}}}
	row := RowOf(c, r, 0)
	want := map[string]string{"nothing-dropped": cellCaught, "fencing": cellOK, "linearizability": cellInconclusive,
		"scheduler": cellNA, "uploads.unknown == 0": cellOK, "invariants.violations == 0": cellCaught}
	for k, v := range want {
		if row.Cells[k] != v {
			t.Errorf("cell %s = %q, want %q", k, row.Cells[k], v)
		}
	}
	if row.Status != "caught" || len(row.Missed) != 1 || row.Missed[0] != "fencing" {
		t.Errorf("status %s missed %v", row.Status, row.Missed)
	}
}

func TestReport_Verdict_Cases(t *testing.T) {
	tests := []struct {
		name string
		rep  Report
		want string
	}{
		{"ok", Report{OK: true}, report.Pass},
		{"survivor", Report{Survivors: []string{"no-lock"}}, report.Fail},
		{"failure beside an unjudged run", Report{Failures: []string{"x"}, Inconclusive: []string{"y"}}, report.Fail},
		{"only unjudged runs", Report{Inconclusive: []string{"y"}}, report.Inconclusive},
		{"unfinished", Report{}, report.Fail},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.rep.Verdict(); got != tt.want {
				t.Errorf("Verdict() = %s, want %s", got, tt.want)
			}
		})
	}
}
