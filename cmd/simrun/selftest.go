package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/stormsim/stormsim/report"
	"github.com/stormsim/stormsim/scenarios"
	"github.com/stormsim/stormsim/sim/checker"
	"github.com/stormsim/stormsim/sim/regions"
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
	{checker.NameScheduler, "sched"},
	{checker.NameConvergence, "conv"}, {checker.NameNoRegression, "regr"}, {checker.NameNoPhantom, "phant"},
	{checker.NameReplicationIdempotent, "ridem"},
}

// selftestReport is the kill matrix and its verdict (--json prints it).
type selftestReport struct {
	OK          bool          `json:"ok"`
	Seconds     float64       `json:"duration_seconds"`
	Invariants  []string      `json:"invariants"` // matrix columns, then Gates
	Gates       []string      `json:"gates"`
	Runs        []selftestRow `json:"runs"`
	Determinism []determinism `json:"determinism"`
	// Survivors are mutants no gate or invariant caught; Failures are real
	// runs that did not pass and determinism checks that failed.
	Survivors []string `json:"survivors"`
	Failures  []string `json:"failures"`
	// Inconclusive are runs the harness could not judge (it was bound, on
	// a busy machine): a real run that broke no invariant but could not
	// pass its speed gates, or a mutant whose only claimed catches were
	// inconclusive gates. They make the self-test inconclusive (exit 3),
	// never a pass and never a failure.
	Inconclusive []string `json:"inconclusive"`
}

type selftestRow struct {
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
	Reasons []string `json:"reasons"`
	Seconds float64  `json:"seconds"`
	Hash    string   `json:"workload_hash"`
}

// determinism: the same seed gives the same workload hash, another seed
// another one, and every run of a scenario saw the same workload.
type determinism struct {
	Scenario          string `json:"scenario"`
	Seed              uint64 `json:"seed"`
	Hash              string `json:"workload_hash"`
	SameSeedSameHash  bool   `json:"same_seed_same_hash"`
	OtherSeedDiffers  bool   `json:"other_seed_differs"`
	RunsSeeSameHash   bool   `json:"runs_see_same_hash"`
	OK                bool   `json:"ok"`
	runHashesObserved []string
}

// selftestCmd runs the self-test: the real system and every mutant on
// short built-in scenarios. It exits 0 only when every mutant is caught
// and the real system passes everything.
func selftestCmd(args []string) error {
	fs := flag.NewFlagSet("selftest", flag.ContinueOnError)
	quiet := fs.Bool("quiet", false, "print nothing unless the self-test fails")
	asJSON := fs.Bool("json", false, "print the kill matrix as JSON")
	out := fs.String("out", "", "keep every run's output in this folder (default: a temporary folder, removed)")
	matrix := fs.Bool("matrix", false, "run every mutant over the SCENARIO files instead (the kill matrix of what CI runs)")
	runs := fs.Int("runs", 3, "with --matrix: runs of each mutant on each scenario; a scenario kills a mutant only when every run catches it")
	only := fs.String("mutants", "", "with --matrix: comma-separated mutant names to run (default: all)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: simrun selftest [--quiet] [--json] [--out DIR]\n       simrun selftest --matrix [--runs N] [--mutants A,B] [--json] [--out DIR] SCENARIO...\n\nRuns the real system and built-in mutants on short scenarios and prints\nthe kill matrix; exits 0 only if every mutant is caught and the real\nsystem passes.\n\nWith --matrix, runs the real system and every mutant N times on each\nscenario file given (e.g. scenarios/ci.yaml scenarios/adversarial*.yaml)\nand prints which gate or invariant caught each; exits 0 only if every\nmutant is caught in every run by at least one of the files and the real\nsystem passes every run of every file.\n\nflags:")
		fs.PrintDefaults()
	}
	if help, err := parseFlags(fs, args); help || err != nil {
		return err
	}
	if *matrix {
		return matrixCmd(matrixOptions{files: fs.Args(), runs: *runs, only: *only, out: *out, quiet: *quiet, json: *asJSON})
	}
	if fs.NArg() != 0 {
		return usagef("selftest takes no arguments (without --matrix), got %q", fs.Args())
	}
	dir, cleanup, err := selftestDir(*out, "stormsim-selftest-")
	if err != nil {
		return err
	}
	defer cleanup()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := runSelftest(ctx, dir, selftestLog(*quiet || *asJSON))
	if err != nil {
		return err
	}
	if err := printSelftest(rep, *asJSON, *quiet, printMatrix); err != nil {
		return err
	}
	if ctx.Err() != nil {
		return exitError{exitInterrupted}
	}
	if !rep.OK {
		if *quiet {
			fmt.Fprintln(os.Stderr, verdictLine(rep))
		}
		if len(rep.Survivors) == 0 && len(rep.Failures) == 0 && len(rep.Inconclusive) > 0 {
			return exitError{exitInconclusive}
		}
		return exitError{exitFail}
	}
	return nil
}

// selftestDir is the folder runs are kept in: out, proved writable, or a
// new temporary folder that cleanup removes.
func selftestDir(out, tmpPattern string) (dir string, cleanup func(), err error) {
	if out != "" {
		if err := writable(out); err != nil {
			return "", nil, usageError{err}
		}
		return out, func() {}, nil
	}
	tmp, err := os.MkdirTemp("", tmpPattern)
	if err != nil {
		return "", nil, err
	}
	return tmp, func() { _ = os.RemoveAll(tmp) }, nil
}

// selftestLog is where a line per finished run goes: stderr, or nowhere.
func selftestLog(silent bool) io.Writer {
	if silent {
		return io.Discard
	}
	return os.Stderr
}

// printSelftest prints rep on stdout: as JSON, with text, or not at all
// (quiet).
func printSelftest[R any](rep R, asJSON, quiet bool, text func(io.Writer, R)) error {
	switch {
	case asJSON:
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	case !quiet:
		text(os.Stdout, rep)
	}
	return nil
}

// selftest runs every case into dir and builds the kill matrix; log gets a
// line per finished run.
func runSelftest(ctx context.Context, dir string, log io.Writer) (*selftestReport, error) {
	start := time.Now()
	rep := &selftestReport{Survivors: []string{}, Failures: []string{}}
	det := map[string]*determinism{}
	var order []string
	for i, c := range selftest.Cases() {
		if ctx.Err() != nil {
			break
		}
		run, r, row, err := runCase(c, filepath.Join(dir, runDirName(i, c)), func(runDir string) (*selftest.Result, error) {
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
		d := det[c.Scenario]
		if d == nil {
			d = checkDeterminism(run.Scenario)
			det[c.Scenario] = d
			order = append(order, c.Scenario)
		}
		d.runHashesObserved = append(d.runHashesObserved, r.WorkloadHash)
		fmt.Fprintf(log, "selftest: %-24s on %-19s %-8s %5.1fs  %s\n", c.Name, c.Scenario, row.Status, row.Seconds,
			strings.Join(row.CaughtBy, ", "))
	}
	regionRows, err := selftestRegions(ctx, dir, len(rep.Runs), log)
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
	for _, row := range rep.Runs {
		switch row.Status {
		case "survived":
			rep.Survivors = append(rep.Survivors, row.Mutant)
		case "fail":
			rep.Failures = append(rep.Failures, fmt.Sprintf("real system on %s: %s", row.Scenario, strings.Join(row.Reasons, "; ")))
		case "inconclusive":
			rep.Inconclusive = append(rep.Inconclusive, fmt.Sprintf("%s on %s: %s", row.Mutant, row.Scenario, strings.Join(row.Reasons, "; ")))
		}
	}
	rep.OK = len(rep.Survivors) == 0 && len(rep.Failures) == 0 && len(rep.Inconclusive) == 0 &&
		len(rep.Runs) == len(selftest.Cases())+len(regions.SelfTestCases())
	rep.Seconds = time.Since(start).Seconds()
	return rep, nil
}

// runCase runs c with run into runDir, writes its run folder and returns
// its row of the kill matrix.
func runCase(c selftest.Case, runDir string, run func(runDir string) (*selftest.Result, error)) (*selftest.Result, *report.Results, selftestRow, error) {
	if err := os.MkdirAll(runDir, 0o755); err != nil {
		return nil, nil, selftestRow{}, err
	}
	res, err := run(runDir)
	if err != nil {
		return nil, nil, selftestRow{}, err
	}
	r := buildSelftest(res)
	if err := report.WriteAll(runDir, r, nil); err != nil {
		return nil, nil, selftestRow{}, err
	}
	return res, r, matrixRow(c, r, res.Elapsed), nil
}

// runDirName names the folder of the i-th self-test run under --out.
func runDirName(i int, c selftest.Case) string {
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

func matrixRow(c selftest.Case, r *report.Results, took time.Duration) selftestRow {
	row := selftestRow{Mutant: c.Name, Scenario: c.Scenario, Breaks: c.Breaks, Verdict: r.Verdict,
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
	switch {
	case c.Mutant() && len(row.CaughtBy) > 0:
		row.Status = "caught"
	case c.Mutant() && unjudged:
		row.Status = "inconclusive"
	case c.Mutant():
		row.Status = "survived"
	case r.Verdict == report.Pass:
		row.Status = "pass"
	case r.Verdict == report.Inconclusive && violations == 0:
		row.Status = "inconclusive"
	default:
		row.Status = "fail"
	}
	return row
}

func checkDeterminism(sc *scenarios.Scenario) *determinism {
	h := workload.Hash(sc, sc.Seed)
	return &determinism{Scenario: sc.Name, Seed: sc.Seed, Hash: h,
		SameSeedSameHash: workload.Hash(sc, sc.Seed) == h, OtherSeedDiffers: workload.Hash(sc, sc.Seed+1) != h}
}

// printMatrix renders the kill matrix: a row per run, a column per
// invariant and gate; X caught, . passed, blank not applicable.
func printMatrix(w io.Writer, rep *selftestReport) {
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', 0)
	fmt.Fprint(tw, "mutant\tscenario\t")
	for _, inv := range invariantColumns {
		fmt.Fprintf(tw, "%s\t", inv.label)
	}
	for i := range rep.Gates {
		fmt.Fprintf(tw, "G%d\t", i+1)
	}
	fmt.Fprintln(tw, "result\tseconds")
	mark := map[string]string{cellCaught: "X", cellOK: ".", cellNA: "", cellInconclusive: "?"}
	for _, row := range rep.Runs {
		fmt.Fprintf(tw, "%s\t%s\t", row.Mutant, row.Scenario)
		for _, inv := range invariantColumns {
			fmt.Fprintf(tw, "%s\t", mark[row.Cells[inv.name]])
		}
		for _, g := range rep.Gates {
			c, ok := row.Cells[g]
			if !ok {
				c = cellNA
			}
			fmt.Fprintf(tw, "%s\t", mark[c])
		}
		fmt.Fprintf(tw, "%s\t%.1f\n", row.Status, row.Seconds)
	}
	_ = tw.Flush()
	fmt.Fprintln(w, "\nX caught (violated or failed)   . held   ? inconclusive   blank: not applicable")
	for i, g := range rep.Gates {
		fmt.Fprintf(w, "G%d  %s\n", i+1, g)
	}
	fmt.Fprintln(w)
	for _, row := range rep.Runs {
		if row.Breaks != "" {
			fmt.Fprintf(w, "%-24s %s\n", row.Mutant, row.Breaks)
		}
		if len(row.Missed) > 0 {
			fmt.Fprintf(w, "%-24s note: not caught this time by %s, which it is documented to fail\n", "", strings.Join(row.Missed, ", "))
		}
	}
	fmt.Fprintln(w)
	for _, d := range rep.Determinism {
		state := "ok"
		if !d.OK {
			state = "FAILED"
		}
		fmt.Fprintf(w, "determinism %-19s seed %d workload %.16s: same seed same hash %v, other seed differs %v, all runs same hash %v: %s\n",
			d.Scenario, d.Seed, d.Hash, d.SameSeedSameHash, d.OtherSeedDiffers, d.RunsSeeSameHash, state)
	}
	fmt.Fprintln(w, verdictLine(rep))
}

func verdictLine(rep *selftestReport) string {
	mutants, reals := 0, 0
	for _, r := range rep.Runs {
		if r.Mutant == selftest.RealName {
			reals++
		} else {
			mutants++
		}
	}
	if rep.OK {
		return fmt.Sprintf("selftest: ok: %d mutants caught, the real system passed %d scenarios, in %.1fs", mutants, reals, rep.Seconds)
	}
	var why []string
	if len(rep.Survivors) > 0 {
		why = append(why, "mutants not caught: "+strings.Join(rep.Survivors, ", "))
	}
	why = append(why, rep.Failures...)
	if len(rep.Inconclusive) > 0 {
		why = append(why, "not judged (harness-bound): "+strings.Join(rep.Inconclusive, "; "))
	}
	if want := len(selftest.Cases()) + len(regions.SelfTestCases()); len(rep.Runs) < want {
		why = append(why, fmt.Sprintf("only %d of %d runs finished", len(rep.Runs), want))
	}
	if len(rep.Survivors) == 0 && len(rep.Failures) == 0 && len(rep.Inconclusive) > 0 {
		return "selftest: INCONCLUSIVE: " + strings.Join(why, "; ")
	}
	return "selftest: FAILED: " + strings.Join(why, "; ")
}
