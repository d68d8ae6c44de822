package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"path"
	"path/filepath"

	"github.com/stormsim/stormsim/coordinator"
	"github.com/stormsim/stormsim/internal/s3out"
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
	merge := fs.Bool("merge", false, "merge the run folders of a sharded run (simrun --shard I/N) into --out; an s3://BUCKET/PREFIX folder stands for its shard-I/ folders")
	out := fs.String("out", "", "with --merge: the folder for the merged report, or s3://BUCKET/PREFIX")
	var st storeOptions
	st.register(fs, nil)
	if err := fs.Parse(interleave(fs, args)); err != nil {
		return usageError{err}
	}
	args = fs.Args()
	if *merge {
		return mergeRuns(*out, args, &st)
	}
	for _, a := range args {
		if s3out.IsURL(a) {
			return usagef("simrun report %s: only --merge reads s3:// folders (simrun check does too)", a)
		}
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
// re-checked, counts and latencies recomputed from it, and written as the
// folder's history.jsonl so that simrun check works on it.
func mergeRuns(out string, args []string, st *storeOptions) (err error) {
	if out == "" || len(args) == 0 {
		return usagef("usage: simrun report --merge --out DIR SHARD_DIR...")
	}
	for _, d := range args {
		if sameFolder(d, out) {
			return usagef("simrun report --merge: --out %s is one of the shard folders; the merged report needs a folder of its own", out)
		}
	}
	ctx := context.Background()
	dirs, cleanup, err := fetchRuns(ctx, args, st)
	if err != nil {
		return err
	}
	defer cleanup()
	if s3out.IsURL(out) {
		if _, shard := s3out.ShardIndex(path.Base(out)); shard {
			return usagef("simrun report --merge: --out %s: a folder named %sI would be read as a shard of the run; name it otherwise (e.g. merged)", out, s3out.ShardPrefix)
		}
		s3o, perr := prepareS3Out(ctx, out, st, os.Stderr)
		if perr != nil {
			return perr
		}
		out = s3o.dir
		// err is the named result: the verdict's exit code included.
		defer func() { err = s3o.publish(ctx, err) }()
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
	merged, err := report.Merge(shards, set, rep)
	if err != nil {
		return usageError{err}
	}
	if err := writable(out); err != nil {
		return usageError{err}
	}
	if err := mergeHistories(filepath.Join(out, "history.jsonl"), paths); err != nil {
		return err
	}
	if err := report.WriteAll(out, merged, nil); err != nil {
		return err
	}
	if err := report.Summary(os.Stdout, merged); err != nil {
		return err
	}
	return exitError{verdictCode(merged.Verdict)}
}

// sameFolder reports whether two folder arguments name the same folder
// (local paths, or s3:// URLs).
func sameFolder(a, b string) bool {
	if s3out.IsURL(a) || s3out.IsURL(b) {
		la, ea := s3out.Parse(a)
		lb, eb := s3out.Parse(b)
		return ea == nil && eb == nil && la == lb
	}
	return filepath.Clean(a) == filepath.Clean(b)
}

// mergeHistories writes the shards' histories one after the other into
// path, line by line through history.Scan: a shard's truncated last line
// (an interrupted run) is dropped as a reader drops it, instead of running
// into the next shard's first line. The shards' users are disjoint, so the
// concatenation is the run's history (history.Set.Merge does the same).
func mergeHistories(path string, shards []string) (err error) {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("merge histories: %w", err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("merge histories: %w", cerr)
		}
	}()
	w := bufio.NewWriter(f)
	for _, p := range shards {
		in, err := os.Open(p)
		if err != nil {
			return fmt.Errorf("merge histories: %w", err)
		}
		err = history.Scan(in, func(_ string, line []byte) error {
			if _, err := w.Write(line); err != nil {
				return err
			}
			return w.WriteByte('\n')
		})
		in.Close()
		if err != nil {
			return fmt.Errorf("merge histories: %s: %w", p, err)
		}
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("merge histories: %w", err)
	}
	return nil
}
