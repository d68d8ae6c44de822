package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/stormsim/stormsim/coordinator"
	"github.com/stormsim/stormsim/report"
	"github.com/stormsim/stormsim/scenarios"
	"github.com/stormsim/stormsim/sim/checker"
	"github.com/stormsim/stormsim/sim/history"
)

// validateCmd checks scenario files without running them.
func validateCmd(args []string) error {
	if len(args) == 0 {
		return usagef("usage: simrun validate FILE...")
	}
	bad := 0
	for _, f := range args {
		if _, err := scenarios.Load(f); err != nil {
			fmt.Fprintln(os.Stderr, err)
			bad++
			continue
		}
		fmt.Printf("%s: ok\n", f)
	}
	if bad > 0 {
		return exitError{exitUsage}
	}
	return nil
}

// reportCmd re-renders saved runs; with two, compares them.
func reportCmd(args []string) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	merge := fs.Bool("merge", false, "merge the run folders of a sharded run (simrun --shard I/N) into --out")
	out := fs.String("out", "", "with --merge: the folder for the merged report")
	if err := fs.Parse(interleave(fs, args)); err != nil {
		return usageError{err}
	}
	args = fs.Args()
	if *merge {
		return mergeRuns(*out, args)
	}
	if len(args) < 1 || len(args) > 2 {
		return usagef("usage: simrun report RUN_DIR [CANDIDATE_DIR]\n       simrun report --merge --out DIR SHARD_DIR...")
	}
	runs := make([]*report.Results, len(args))
	for i, d := range args {
		r, err := report.ReadResults(filepath.Join(d, "results.json"))
		if err != nil {
			return usageError{err}
		}
		runs[i] = r
	}
	if len(runs) == 2 {
		return report.Compare(os.Stdout, runs[0], runs[1])
	}
	if err := report.WriteAll(args[0], runs[0], nil); err != nil {
		return err
	}
	return report.Summary(os.Stdout, runs[0])
}

// mergeRuns writes one report for the shards of a run: the merged history
// re-checked, counts and latencies recomputed from it.
func mergeRuns(out string, dirs []string) error {
	if out == "" || len(dirs) == 0 {
		return usagef("usage: simrun report --merge --out DIR SHARD_DIR...")
	}
	var shards []*report.Results
	var paths []string
	fencing := true
	for _, d := range dirs {
		r, err := report.ReadResults(filepath.Join(d, "results.json"))
		if err != nil {
			return usageError{err}
		}
		fencing = fencing && r.Strategy != string(coordinator.StrategyS3Conditional)
		shards = append(shards, r)
		paths = append(paths, filepath.Join(d, "history.jsonl"))
	}
	set, err := history.ReadFiles(paths...)
	if err != nil {
		return usageError{err}
	}
	rep := checker.Check(set, checker.Options{Fencing: fencing})
	merged := report.Merge(shards, set, rep)
	if err := writable(out); err != nil {
		return usageError{err}
	}
	if err := report.WriteAll(out, merged, nil); err != nil {
		return err
	}
	if err := report.Summary(os.Stdout, merged); err != nil {
		return err
	}
	return exitError{verdictCode(merged.Verdict)}
}
