package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/stormsim/stormsim/report"
	"github.com/stormsim/stormsim/scenarios"
	"github.com/stormsim/stormsim/sim"
	"github.com/stormsim/stormsim/sim/traffic"
	"github.com/stormsim/stormsim/sim/workload"
)

// maxRepeat bounds --repeat.
const maxRepeat = 100

// checkRepeat validates --repeat N and the flags that cannot go with it.
func checkRepeat(fs *flag.FlagSet, n int) error {
	if n == 1 {
		return nil
	}
	if n < 2 || n > maxRepeat {
		return usagef("--repeat %d: want a number of runs in 2..%d (1 = a single run)", n, maxRepeat)
	}
	var clash []string
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "shard", "start-at", "metrics-addr", "memprofile", "redis", "s3", "external", "webhook", "run-id", "keep":
			clash = append(clash, "--"+f.Name)
		}
	})
	if len(clash) > 0 {
		return usagef("--repeat runs each repetition on fresh embedded fakes, in its own folder; it does not go with %s", strings.Join(clash, ", "))
	}
	return nil
}

// repeatPlan is one repeated run: n runs of the same scenario and seed,
// run i into dir/RepeatRunDir(i, n), the set's results into dir.
type repeatPlan struct {
	n     int
	dir   string
	gates []scenarios.Gate
	rerun string // the set's rerun line (with --repeat)
	log   io.Writer
	// once runs repetition i into runDir (made already) and writes its run
	// folder. res is nil for a scheduler-only scenario.
	once func(ctx context.Context, i int, runDir string) (*sim.Result, *report.Results, error)
}

// runRepeated runs the repetitions one after another (two at once would
// share the cores and measure each other) and writes the set's
// results.json, junit.xml, report.html and plots/repeat.png into p.dir. A
// repetition that cannot run stops the set with an error; an interrupt
// stops it with the runs done so far, marked partial.
func runRepeated(ctx context.Context, p repeatPlan) (*report.Results, error) {
	var set report.RepeatSet
	for i := 1; i <= p.n; i++ {
		if ctx.Err() != nil {
			break
		}
		rel := report.RepeatRunDir(i, p.n)
		fmt.Fprintf(p.log, "run %d/%d: %s\n", i, p.n, filepath.Join(p.dir, rel))
		runDir := filepath.Join(p.dir, rel)
		if err := os.MkdirAll(runDir, 0o755); err != nil {
			return nil, fmt.Errorf("run folder: %w", err)
		}
		res, r, err := p.once(ctx, i, runDir)
		if err != nil {
			return nil, fmt.Errorf("run %d of %d: %w", i, p.n, err)
		}
		set.Add(rel, res, r)
		fmt.Fprintf(p.log, "run %d/%d: %s\n", i, p.n, strings.ToUpper(r.Verdict))
		if r.Partial {
			break
		}
		runtime.GC() // the next run starts from a clean heap
	}
	out := set.Close(p.gates, p.rerun)
	if set.Len() < p.n {
		out.Partial = true
		out.Reasons = append(out.Reasons, fmt.Sprintf("interrupted after %d of %d runs", set.Len(), p.n))
		if out.Verdict == report.Pass {
			out.Verdict = report.Inconclusive
		}
	}
	if err := report.WriteAll(p.dir, out, nil); err != nil {
		return nil, err
	}
	return out, nil
}

// runRepeat is simrun --repeat N SCENARIO: the scenario N times with the
// same seed.
func runRepeat(ctx context.Context, o runOptions, fs *flag.FlagSet, sc *scenarios.Scenario, path string, seed uint64, dir string) error {
	log := io.Writer(os.Stderr)
	if o.quiet || o.json {
		log = io.Discard
	}
	stopProfiles, err := startProfiles(o.cpuProfile)
	if err != nil {
		return usageError{err}
	}
	runRerun := rerunLine(fs, seed, traffic.Shard{}, path, "repeat")
	p := repeatPlan{n: o.repeat, dir: dir, gates: sc.ParsedGates, rerun: rerunLine(fs, seed, traffic.Shard{}, path), log: log,
		once: func(ctx context.Context, _ int, runDir string) (*sim.Result, *report.Results, error) {
			if sc.Scheduler != nil && len(sc.Phases) == 0 {
				res, err := sim.RunSchedulerMail(ctx, sc, seed, runDir, o.mailServer)
				if err != nil {
					return nil, nil, err
				}
				r := report.BuildScheduler(res, sc, seed, workload.Hash(sc, seed), runRerun, report.WithPrices(o.loadedPrices))
				r.Partial = r.Partial || ctx.Err() != nil
				return nil, r, report.WriteAll(runDir, r, nil)
			}
			opt := sim.Options{Scenario: sc, Seed: seed, OutDir: runDir, MaxInFlight: o.maxInFlight,
				CheckTimeout: o.checkTimeout, Registry: prometheus.NewRegistry()}
			if log != io.Discard {
				opt.Progress = progressPrinter(os.Stderr)
			}
			return runOnce(ctx, opt, runRerun, o.loadedPrices, nil)
		}}
	r, err := runRepeated(ctx, p)
	stopProfiles()
	if err != nil {
		return err
	}
	printResults(o, r, p.rerun, dir)
	if r.Partial && ctx.Err() != nil {
		return exitError{exitInterrupted}
	}
	return exitError{verdictCode(r.Verdict)}
}

// runRepeatedPoint runs one sweep point o.repeat times into
// opt.OutDir/run-K and writes the point's set into opt.OutDir.
func runRepeatedPoint(ctx context.Context, o sweepOptions, opt sim.Options, rerun string, prices *report.Prices) (*report.Results, error) {
	log := io.Writer(os.Stderr)
	if o.quiet {
		log = io.Discard
	}
	// rerun reruns the whole point (it carries --repeat); a run's own line
	// drops it.
	runRerun := strings.Replace(rerun, fmt.Sprintf(" --repeat %d", o.repeat), "", 1)
	return runRepeated(ctx, repeatPlan{n: o.repeat, dir: opt.OutDir, gates: opt.Scenario.ParsedGates, rerun: rerun, log: log,
		once: func(ctx context.Context, _ int, runDir string) (*sim.Result, *report.Results, error) {
			ro := opt
			ro.OutDir, ro.Registry = runDir, prometheus.NewRegistry()
			return runOnce(ctx, ro, runRerun, prices, nil)
		}})
}
