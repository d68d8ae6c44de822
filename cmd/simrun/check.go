package main

import (
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"

	"github.com/stormsim/stormsim/coordinator"
	"github.com/stormsim/stormsim/report"
	"github.com/stormsim/stormsim/sim/checker"
	"github.com/stormsim/stormsim/sim/history"
)

// checkCmd re-checks a saved run's history.
func checkCmd(args []string) error {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	timeout := fs.Duration("check-timeout", checker.DefaultLinearizabilityTimeout, "budget of the linearizability check")
	var st storeOptions
	st.register(fs, nil)
	if err := fs.Parse(interleave(fs, args)); err != nil {
		return usageError{err}
	}
	if fs.NArg() < 1 {
		return usagef("usage: simrun check RUN_DIR [RUN_DIR...]   (several: the shards of one run, merged; s3://BUCKET/PREFIX: its run, or its shard-I/ folders)")
	}
	dirs, cleanup, err := fetchRuns(context.Background(), fs.Args(), &st)
	if err != nil {
		return err
	}
	defer cleanup()
	fencing := true
	var paths []string
	for _, dir := range dirs {
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
	if err := report.CheckSummary(os.Stdout, rep, len(set.Uploads), fs.Args()); err != nil {
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
