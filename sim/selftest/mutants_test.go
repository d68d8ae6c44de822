package selftest

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/stormsim/stormsim/sim"
	"github.com/stormsim/stormsim/sim/checker"
)

// summary logs what a self-test run measured and returns the failed
// invariants.
func summary(t *testing.T, run *Result) []string {
	t.Helper()
	var rep checker.Report
	if run.Upload != nil {
		rep = run.Upload.Check
		m := run.Upload.Measure
		known := m.PollsHist.TotalCount()
		zero := 0.0
		if known > 0 {
			zero = float64(m.PushOnly) / float64(known)
		}
		t.Logf("%s on %s: %v outcomes %v polls mean %.2f zero_share %.2f delivery %+v decisions %v", run.Case.Name,
			run.Case.Scenario, run.Elapsed.Round(1e6), m.Outcomes, m.PollsHist.Mean(), zero, run.Upload.Delivery, run.Upload.Decisions)
	} else {
		rep = run.Scheduler.Check
		s := run.Scheduler.Sched.Main()
		t.Logf("%s on %s: %v events %d early %d missed %d dup %d", run.Case.Name, run.Case.Scenario,
			run.Elapsed.Round(1e6), s.Events, s.Early, s.Missed, s.Duplicates)
	}
	var failed []string
	for _, c := range rep.Checks {
		if !c.OK {
			failed = append(failed, c.Name)
			t.Logf("  %s: %d violations, inconclusive %v: %.300s", c.Name, c.Violations, c.Inconclusive, c.Detail)
		}
	}
	return failed
}

// TestNaive_NoFlags_Passes: the naive handler with nothing broken keeps
// every promise under each scenario's faults, so a mutant's violations come
// from its one broken promise, not from the naive handler itself.
func TestNaive_NoFlags_Passes(t *testing.T) {
	for _, sc := range []string{ScenarioRace, ScenarioRetry} {
		t.Run(sc, func(t *testing.T) {
			c := Case{Name: "naive", Scenario: sc,
				mutant: func() mutant { return mutant{Mutant: &sim.Mutant{Name: "naive", WrapHandler: naive{}.wrap}} }}
			run, err := c.Run(context.Background(), t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			if failed := summary(t, run); len(failed) > 0 {
				t.Errorf("naive handler without a mutation failed %v", failed)
			}
		})
	}
}

// Every case's claims (the real system passes; each mutant is caught by
// every invariant and gate its case lists) are held by simrun selftest,
// which fails otherwise: CI runs it whole, and cmd/simrun's
// TestRun_Selftest_Sample runs a mutant of each kind through it.

// selfTestCase returns the self-test case of a mutant by name.
func selfTestCase(t *testing.T, name string) Case {
	t.Helper()
	for _, c := range Cases() {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no self-test case %q", name)
	return Case{}
}

// TestSelfTest_ResultOverwritten_FailsStability: the mutant that lets a
// duplicate event overwrite a stored result is caught by stability itself:
// the result read back after the drain differs from what the device was
// told, long after the device stopped polling.
func TestSelfTest_ResultOverwritten_FailsStability(t *testing.T) {
	if testing.Short() {
		t.Skip("a self-test run takes a few seconds")
	}
	run, err := selfTestCase(t, "result-overwritten").Run(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	failed := summary(t, run)
	st, _ := run.Upload.Check.Find(checker.NameStability)
	if !slices.Contains(failed, checker.NameStability) || st.Inconclusive {
		t.Fatalf("stability passed the result-overwritten mutant: %+v", st)
	}
	if !strings.Contains(st.Detail, "stored result now says") {
		t.Errorf("stability caught it by the polls alone, not the read-back: %s", st.Detail)
	}
}
