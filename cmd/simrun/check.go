package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/stormsim/stormsim/coordinator"
	"github.com/stormsim/stormsim/report"
	"github.com/stormsim/stormsim/sim/checker"
	"github.com/stormsim/stormsim/sim/history"
)

// checkCmd re-checks a saved run's history.
func checkCmd(args []string) error {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	timeout := fs.Duration("check-timeout", checker.DefaultLinearizabilityTimeout, "budget of the linearizability check")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	if fs.NArg() < 1 {
		return usagef("usage: simrun check RUN_DIR [RUN_DIR...]   (several: the shards of one run, merged)")
	}
	fencing := true
	var paths []string
	for _, dir := range fs.Args() {
		if r, err := report.ReadResults(filepath.Join(dir, "results.json")); err == nil {
			fencing = fencing && r.Strategy != string(coordinator.StrategyS3Conditional)
		}
		paths = append(paths, filepath.Join(dir, "history.jsonl"))
	}
	set, err := history.ReadFiles(paths...)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return usageError{err}
		}
		return err
	}
	rep := checker.Check(set, checker.Options{LinearizabilityTimeout: *timeout, Fencing: fencing})
	if err := writeCheck(os.Stdout, rep, len(set.Uploads), fs.Args()); err != nil {
		return err
	}
	switch {
	case rep.Violations > 0:
		return exitError{exitFail}
	case rep.Inconclusive:
		return exitError{exitInconclusive}
	}
	return nil
}

// maxCheckExamples caps the ids shown per failed check.
const maxCheckExamples = 5

// writeCheck prints one line per invariant (what failed, with examples;
// a passing check says only "ok") and ends with the verdict line.
func writeCheck(w io.Writer, rep checker.Report, uploads int, dirs []string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	failed, inconclusive := 0, 0
	for _, c := range rep.Checks {
		var line string
		switch {
		case c.Inconclusive:
			inconclusive++
			line = fmt.Sprintf("  INCONCLUSIVE\t%s\t%s", c.Name, c.Detail)
		case !c.OK || c.Violations > 0:
			failed++
			ex := c.Examples
			more := ""
			if len(ex) > maxCheckExamples {
				ex, more = ex[:maxCheckExamples], fmt.Sprintf(" (%d more)", len(c.Examples)-maxCheckExamples)
			}
			line = fmt.Sprintf("  FAIL\t%s\t%d violation(s)", c.Name, c.Violations)
			if len(ex) > 0 {
				line += ", e.g. " + strings.Join(ex, ", ") + more
			}
			if c.Detail != "" {
				line += ": " + c.Detail
			}
		default:
			line = fmt.Sprintf("  ok\t%s\t", c.Name)
		}
		fmt.Fprintln(tw, strings.TrimRight(line, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write check: %w", err)
	}
	what := fmt.Sprintf("%d invariant(s) checked on %d upload(s) from %s", len(rep.Checks), uploads, strings.Join(dirs, ", "))
	var verdict string
	switch {
	case rep.Violations > 0 || failed > 0:
		verdict = fmt.Sprintf("verdict: FAIL: %d of %d invariant(s) violated, %d violation(s) in all (%s)", failed, len(rep.Checks), rep.Violations, what)
	case rep.Inconclusive:
		verdict = fmt.Sprintf("verdict: INCONCLUSIVE: %d check(s) could not finish (%s)", inconclusive, what)
	default:
		verdict = fmt.Sprintf("verdict: PASS: no violation (%s)", what)
	}
	if _, err := fmt.Fprintf(w, "\n%s\n", verdict); err != nil {
		return fmt.Errorf("write check: %w", err)
	}
	return nil
}
