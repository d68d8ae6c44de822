// Package killmatrix runs the self-test and judges it: the real system and
// every mutant (sim/selftest's cases) on short scenarios, or over the
// scenario files CI runs, one row per run and one column per invariant and
// gate. It answers "was every mutant caught, and did the real system
// pass?"; simrun selftest prints it and maps its verdict to an exit code.
package killmatrix

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/stormsim/stormsim/report"
	"github.com/stormsim/stormsim/scenarios"
	"github.com/stormsim/stormsim/sim/checker"
	"github.com/stormsim/stormsim/sim/selftest"
	"github.com/stormsim/stormsim/sim/workload"
)

// Cell states of the kill matrix.
const (
	cellCaught       = "caught"
	cellOK           = "ok"
	cellNA           = "n/a"
	cellInconclusive = "inconclusive"
)

// invariantColumns are the checker's invariants in report order, with the
// matrix's short labels.
var invariantColumns = []struct{ name, label string }{
	{checker.NameOneWinner, "1win"}, {checker.NameNoLostUpdate, "lost"}, {checker.NameNothingDropped, "drop"},
	{checker.NameAgreement, "agree"}, {checker.NameIdempotence, "idem"}, {checker.NameStability, "stab"},
	{checker.NameFencing, "fence"}, {checker.NameCleanliness, "clean"}, {checker.NameLinearizability, "lin"},
	{checker.NameScheduler, "sched"}, {checker.NameEmail, "email"},
	{checker.NameConvergence, "conv"}, {checker.NameNoRegression, "regr"}, {checker.NameNoPhantom, "phant"},
	{checker.NameReplicationIdempotent, "ridem"}, {checker.NameNotified, "notif"},
}

// Report is the kill matrix and its verdict (simrun selftest --json
// prints it).
type Report struct {
	OK         bool     `json:"ok"`
	Seconds    float64  `json:"duration_seconds"`
	Invariants []string `json:"invariants"` // matrix columns, then Gates
	Gates      []string `json:"gates"`
	Runs       []Row    `json:"runs"`
	// Planned is the number of runs selected (every case unless simrun
	// selftest --mutants named some); a self-test with fewer Runs did not
	// finish.
	Planned     int           `json:"planned_runs"`
	Determinism []Determinism `json:"determinism"`
	// Survivors are mutants no gate or invariant caught; Failures are real
	// runs that did not pass, runs with a Row.Problem (a documented catch
	// missed, an inconclusive run with no excuse) and determinism checks
	// that failed.
	Survivors []string `json:"survivors"`
	Failures  []string `json:"failures"`
	// Inconclusive are runs the harness could not judge (it was bound, on
	// a busy machine): a real run that broke no invariant but could not
	// pass its speed gates, or a mutant whose only claimed catches were
	// inconclusive gates. They make the self-test inconclusive (exit 3),
	// never a pass and never a failure.
	Inconclusive []string `json:"inconclusive"`
}

// Row is one run of the kill matrix.
type Row struct {
	Mutant   string `json:"mutant"`
	Scenario string `json:"scenario"`
	Breaks   string `json:"breaks,omitempty"`
	// Status is pass or fail for the real system, caught or survived for a
	// mutant.
	Status   string            `json:"status"`
	Verdict  string            `json:"verdict"`
	Cells    map[string]string `json:"cells"` // invariant name or gate -> cell state
	CaughtBy []string          `json:"caught_by"`
	// Claimed lists what the mutant is documented to be caught by; Missed
	// the claims that did not catch it this time.
	Claimed []string `json:"claimed,omitempty"`
	Missed  []string `json:"missed,omitempty"`
	// Problem says why the run fails the self-test although its status
	// alone would not: a mutant caught, but not by everything its case
	// documents (Missed: the claims are the proof that those gates can
	// fail), or a run left inconclusive though the harness was not bound
	// and the scenario's evidence happened. Empty when neither. The kill
	// matrix over scenario files ignores it: the claims are about the
	// case's own scenario.
	Problem string   `json:"problem,omitempty"`
	Reasons []string `json:"reasons"`
	Seconds float64  `json:"seconds"`
	Hash    string   `json:"workload_hash"`
}

// Determinism: the same seed gives the same workload hash, another seed
// another one, and every run of a scenario saw the same workload.
type Determinism struct {
	Scenario          string `json:"scenario"`
	Seed              uint64 `json:"seed"`
	Hash              string `json:"workload_hash"`
	SameSeedSameHash  bool   `json:"same_seed_same_hash"`
	OtherSeedDiffers  bool   `json:"other_seed_differs"`
	RunsSeeSameHash   bool   `json:"runs_see_same_hash"`
	OK                bool   `json:"ok"`
	runHashesObserved []string
}

// Run runs the selected self-test cases into dir and builds the kill
// matrix; log gets a line per finished run. A run's folder is named by its
// case's place in the whole list (RunDirName), whatever the selection.
func Run(ctx context.Context, sel Selection, dir string, log io.Writer) (*Report, error) {
	start := time.Now()
	rep := &Report{Survivors: []string{}, Failures: []string{}, Planned: sel.planned()}
	det := map[string]*Determinism{}
	var order []string
	seen := func(sc *scenarios.Scenario, hash string) {
		d := det[sc.Name]
		if d == nil {
			d = checkDeterminism(sc)
			det[sc.Name] = d
			order = append(order, sc.Name)
		}
		d.runHashesObserved = append(d.runHashesObserved, hash)
	}
	all := selftest.Cases()
	for i, c := range all {
		if ctx.Err() != nil {
			break
		}
		if !sel.picks(c) {
			continue
		}
		run, r, row, err := runCase(c, filepath.Join(dir, RunDirName(i, c)), func(runDir string) (*selftest.Result, error) {
			return c.Run(ctx, runDir)
		})
		if err != nil {
			return nil, fmt.Errorf("selftest %s on %s: %w", c.Name, c.Scenario, err)
		}
		rep.Runs = append(rep.Runs, row)
		for _, g := range r.Gates {
			if !slices.Contains(rep.Gates, g.Expr) {
				rep.Gates = append(rep.Gates, g.Expr)
			}
		}
		seen(run.Scenario, r.WorkloadHash)
		fmt.Fprintf(log, "selftest: %-24s on %-19s %-8s %5.1fs  %s\n", c.Name, c.Scenario, row.Status, row.Seconds,
			strings.Join(row.CaughtBy, ", "))
	}
	regionRows, err := runRegions(ctx, sel, dir, len(all), log, seen)
	if err != nil {
		return nil, err
	}
	rep.Runs = append(rep.Runs, regionRows...)
	for _, inv := range invariantColumns {
		rep.Invariants = append(rep.Invariants, inv.name)
	}
	for _, name := range order {
		d := det[name]
		d.RunsSeeSameHash = true
		for _, h := range d.runHashesObserved {
			d.RunsSeeSameHash = d.RunsSeeSameHash && h == d.Hash
		}
		d.OK = d.SameSeedSameHash && d.OtherSeedDiffers && d.RunsSeeSameHash
		if !d.OK {
			rep.Failures = append(rep.Failures, fmt.Sprintf("determinism of %s: %+v", name, *d))
		}
		rep.Determinism = append(rep.Determinism, *d)
	}
	rep.tally()
	rep.Seconds = time.Since(start).Seconds()
	return rep, nil
}

// tally sorts the judged runs into Survivors, Failures and Inconclusive
// and sets OK: every planned run finished, every mutant was caught by
// everything its case documents, the real system passed, and every run
// was judged.
func (rep *Report) tally() {
	for _, row := range rep.Runs {
		switch row.Status {
		case "survived":
			rep.Survivors = append(rep.Survivors, row.Mutant)
		case "fail":
			rep.Failures = append(rep.Failures, fmt.Sprintf("real system on %s: %s", row.Scenario, strings.Join(row.Reasons, "; ")))
		case "inconclusive":
			rep.Inconclusive = append(rep.Inconclusive, fmt.Sprintf("%s on %s: %s", row.Mutant, row.Scenario, strings.Join(row.Reasons, "; ")))
		}
		if row.Problem != "" {
			rep.Failures = append(rep.Failures, fmt.Sprintf("%s on %s: %s", row.Mutant, row.Scenario, row.Problem))
		}
	}
	rep.OK = len(rep.Survivors) == 0 && len(rep.Failures) == 0 && len(rep.Inconclusive) == 0 &&
		len(rep.Runs) == rep.Planned
}

// runCase runs c with run into runDir, writes its run folder and returns
// its row of the kill matrix.
func runCase(c selftest.Case, runDir string, run func(runDir string) (*selftest.Result, error)) (*selftest.Result, *report.Results, Row, error) {
	if err := os.MkdirAll(runDir, 0o755); err != nil {
		return nil, nil, Row{}, err
	}
	res, err := run(runDir)
	if err != nil {
		return nil, nil, Row{}, err
	}
	r := buildSelftest(res)
	if err := report.WriteAll(runDir, r, nil); err != nil {
		return nil, nil, Row{}, err
	}
	return res, r, RowOf(c, r, res.Elapsed), nil
}

// RunDirName names the folder of the i-th self-test run under --out.
func RunDirName(i int, c selftest.Case) string {
	return fmt.Sprintf("%02d-%s-%s", i, c.Name, c.Scenario)
}

// buildSelftest turns a self-test run into results, gates and a verdict.
func buildSelftest(run *selftest.Result) *report.Results {
	sc := run.Scenario
	rerun := "simrun selftest"
	if run.Scheduler != nil {
		return report.BuildScheduler(run.Scheduler, sc, sc.Seed, workload.Hash(sc, sc.Seed), rerun)
	}
	return report.Build(run.Upload, sc, rerun)
}

// RowOf judges one run of case c: a cell per invariant and gate, what
// caught it, and its status (caught, survived, pass, fail, inconclusive).
func RowOf(c selftest.Case, r *report.Results, took time.Duration) Row {
	row := Row{Mutant: c.Name, Scenario: c.Scenario, Breaks: c.Breaks, Verdict: r.Verdict,
		Cells: map[string]string{}, CaughtBy: []string{}, Claimed: c.CaughtBy, Reasons: r.Reasons,
		Seconds: took.Seconds(), Hash: r.WorkloadHash}
	for _, inv := range invariantColumns {
		row.Cells[inv.name] = cellNA
	}
	for _, inv := range r.Invariants {
		switch {
		case inv.Violations > 0:
			row.Cells[inv.Name] = cellCaught
			row.CaughtBy = append(row.CaughtBy, inv.Name)
		case inv.Inconclusive:
			row.Cells[inv.Name] = cellInconclusive
		default:
			row.Cells[inv.Name] = cellOK
		}
	}
	for _, g := range r.Gates {
		row.Cells[g.Expr] = cellOK
		if g.Inconclusive { // harness-bound: neither caught nor held
			row.Cells[g.Expr] = cellInconclusive
			continue
		}
		if !g.OK {
			row.Cells[g.Expr] = cellCaught
			row.CaughtBy = append(row.CaughtBy, g.Expr)
		}
	}
	for _, claim := range c.CaughtBy {
		// A claim on a gate the harness could not judge is not missed.
		if row.Cells[claim] != cellCaught && row.Cells[claim] != cellInconclusive {
			row.Missed = append(row.Missed, claim)
		}
	}
	unjudged := false // a claimed catch the harness could not judge
	for _, claim := range c.CaughtBy {
		unjudged = unjudged || row.Cells[claim] == cellInconclusive
	}
	violations := 0
	for _, inv := range r.Invariants {
		violations += inv.Violations
	}
	row.Status = status(c, r, row, unjudged, violations)
	row.Problem = problem(row, r)
	return row
}

// status is a run's status in the kill matrix: caught, survived or
// inconclusive for a mutant; pass, fail or inconclusive for the real
// system. unjudged says a claimed catch was a gate the harness could not
// judge.
func status(c selftest.Case, r *report.Results, row Row, unjudged bool, violations int) string {
	switch {
	case c.Mutant() && len(row.CaughtBy) > 0:
		return "caught"
	case c.Mutant() && (unjudged || r.Verdict == report.Inconclusive):
		// Not caught, but the run could not judge it (a claimed gate the
		// harness could not judge, a fault's min_injected unmet): never
		// a survival the harness's slowness made up, never a pass.
		return "inconclusive"
	case c.Mutant():
		return "survived"
	case r.Verdict == report.Pass:
		return "pass"
	case r.Verdict == report.Inconclusive && violations == 0:
		return "inconclusive"
	}
	return "fail"
}

// problem is a judged row's Row.Problem, or "".
func problem(row Row, r *report.Results) string {
	switch {
	case row.Status == "inconclusive":
		bound := r.Harness != nil && r.Harness.Saturation != nil && r.Harness.Saturation.Bound
		if !bound && !unmetEvidence(r.Reasons) {
			return "inconclusive, but the harness was not bound and the scenario's evidence was met: " + strings.Join(r.Reasons, "; ")
		}
	case row.Status == "caught" && len(row.Missed) > 0:
		return fmt.Sprintf("caught by %s but not by %s, which its case documents", strings.Join(row.CaughtBy, ", "), strings.Join(row.Missed, ", "))
	}
	return ""
}

// unmetEvidence reports whether a verdict's reasons say the scenario's
// situation did not happen: an evidence expression not seen
// (report.Build), or a fault's min_* requirement unmet or its fault
// skipped (fault.Set.Unmet).
func unmetEvidence(reasons []string) bool {
	for _, why := range reasons {
		if strings.HasPrefix(why, "evidence ") || strings.Contains(why, "fewer than its min_") || strings.Contains(why, "but was skipped") {
			return true
		}
	}
	return false
}

func checkDeterminism(sc *scenarios.Scenario) *Determinism {
	h := workload.Hash(sc, sc.Seed)
	return &Determinism{Scenario: sc.Name, Seed: sc.Seed, Hash: h,
		SameSeedSameHash: workload.Hash(sc, sc.Seed) == h, OtherSeedDiffers: workload.Hash(sc, sc.Seed+1) != h}
}

// Verdict is report.Pass when every mutant was caught and the real system
// passed everywhere; report.Inconclusive when nothing failed but some run
// could not be judged (the harness was bound); report.Fail otherwise.
func (rep *Report) Verdict() string {
	switch {
	case rep.OK:
		return report.Pass
	case len(rep.Survivors) == 0 && len(rep.Failures) == 0 && len(rep.Inconclusive) > 0:
		return report.Inconclusive
	}
	return report.Fail
}
