package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"github.com/stormsim/stormsim/report/killmatrix"
	"github.com/stormsim/stormsim/scenarios"
	"github.com/stormsim/stormsim/sim/selftest"
)

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
	only := fs.String("mutants", "", "comma-separated mutant names to run (default: all); without --matrix, the real system runs on their scenarios")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: simrun selftest [--mutants A,B] [--quiet] [--json] [--out DIR]\n       simrun selftest --matrix [--runs N] [--mutants A,B] [--json] [--out DIR] SCENARIO...\n\nRuns the real system and built-in mutants on short scenarios and prints\nthe kill matrix; exits 0 only if every mutant is caught, by everything\nits case documents, and the real system passes; 3 (inconclusive) when\nnothing failed but some runs could not be judged (the harness was\nbound, or a scenario's evidence did not happen). --mutants runs only\nthe named mutants and the real system on their scenarios.\n\nWith --matrix, runs the real system and every mutant N times on each\nscenario file given (e.g. scenarios/ci.yaml scenarios/adversarial*.yaml)\nand prints which gate or invariant caught each; exits 0 only if every\nmutant is caught in every run by at least one of the files and the real\nsystem passes every run of every file; 3 (inconclusive) when nothing\nsurvived and nothing failed but some runs could not be judged (a\nscenario's evidence did not happen, or the harness was bound).\n\nflags:")
		fs.PrintDefaults()
	}
	if help, err := parseFlags(fs, args); help || err != nil {
		return err
	}
	var names []string
	if *only != "" {
		names = strings.Split(*only, ",")
	}
	if *matrix {
		return matrixCmd(matrixOptions{files: fs.Args(), runs: *runs, only: names, out: *out, quiet: *quiet, json: *asJSON})
	}
	if fs.NArg() != 0 {
		return usagef("selftest takes no arguments (without --matrix), got %q", fs.Args())
	}
	sel, err := killmatrix.Select(names)
	if err != nil {
		return usagef("--mutants %q: %v (see simrun selftest)", *only, err)
	}
	dir, cleanup, err := selftestDir(*out, "stormsim-selftest-")
	if err != nil {
		return err
	}
	defer cleanup()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := killmatrix.Run(ctx, sel, dir, selftestLog(*quiet || *asJSON))
	if err != nil {
		return err
	}
	if err := printSelftest(rep, *asJSON, *quiet, killmatrix.WriteText); err != nil {
		return err
	}
	if ctx.Err() != nil {
		return exitError{exitInterrupted}
	}
	if rep.OK {
		return nil
	}
	if *quiet {
		fmt.Fprintln(os.Stderr, rep.VerdictLine())
	}
	return exitError{verdictCode(rep.Verdict())}
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

// matrixOptions are the flags of simrun selftest --matrix.
type matrixOptions struct {
	files       []string
	runs        int
	only        []string // mutant names; none: every mutant
	out         string
	quiet, json bool
}

// matrixCmd is simrun selftest --matrix.
func matrixCmd(o matrixOptions) error {
	if len(o.files) == 0 {
		return usagef("selftest --matrix needs scenario files, e.g. scenarios/ci.yaml scenarios/adversarial*.yaml")
	}
	if o.runs < 1 {
		return usagef("--runs must be >= 1, got %d", o.runs)
	}
	var scs []*scenarios.Scenario
	for _, f := range o.files {
		sc, _, err := loadScenario(f)
		if err != nil {
			return usageError{err}
		}
		if sc.Regions != nil {
			return usagef("selftest --matrix: %s has regions; the replicator's mutants run in simrun selftest", f)
		}
		scs = append(scs, sc)
	}
	cases := selftest.Mutants()
	if len(o.only) > 0 {
		cases = slices.DeleteFunc(cases, func(c selftest.Case) bool { return !slices.Contains(o.only, c.Name) })
		if len(cases) != len(o.only) {
			return usagef("--mutants %q: unknown name among them, or a replicator mutant (those run in simrun selftest)", strings.Join(o.only, ","))
		}
	}
	dir, cleanup, err := selftestDir(o.out, "stormsim-matrix-")
	if err != nil {
		return err
	}
	defer cleanup()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := killmatrix.RunFiles(ctx, scs, cases, o.runs, dir, selftestLog(o.quiet || o.json))
	if err != nil {
		return err
	}
	if err := printSelftest(rep, o.json, o.quiet, killmatrix.WriteFilesText); err != nil {
		return err
	}
	if ctx.Err() != nil {
		return exitError{exitInterrupted}
	}
	switch {
	case rep.OK:
		return nil
	case len(rep.Survivors) == 0 && len(rep.Failures) == 0:
		return exitError{exitInconclusive}
	}
	return exitError{exitFail}
}
