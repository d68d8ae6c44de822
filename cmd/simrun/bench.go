package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/stormsim/stormsim/coordinator"
	"github.com/stormsim/stormsim/report"
	"github.com/stormsim/stormsim/scenarios"
	"github.com/stormsim/stormsim/sim"
	"github.com/stormsim/stormsim/sim/bench"
	"github.com/stormsim/stormsim/sim/measure"
	"github.com/stormsim/stormsim/sim/workload"
)

// benchCmd measures the component operations on the embedded fakes,
// derives the ceiling for a scenario's mix, runs the scenario and prints
// its efficiency: achieved decisions per second / ceiling.
func benchCmd(args []string) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	out := fs.String("out", "", "output folder (default runs/bench-SCENARIO-TIME)")
	per := fs.Duration("op-time", time.Second, "how long to measure each operation")
	workers := fs.Int("workers", 64, "concurrent callers per operation")
	if err := fs.Parse(interleave(fs, args)); err != nil {
		return usageError{err}
	}
	if fs.NArg() != 1 {
		return usagef("usage: simrun bench [--out DIR] [--op-time 1s] SCENARIO.yaml")
	}
	sc, path, err := loadScenario(fs.Arg(0))
	if err != nil {
		return usageError{err}
	}
	if sc.Regions != nil {
		return usagef("bench: %s has regions; bench measures one region's fakes (run it with simrun instead)", path)
	}
	dir := defaultOut(*out, "bench-"+sc.Name)
	if err := writable(dir); err != nil {
		return usageError{err}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	size := int64(workload.Mean(sc.Sizes.Dist))
	size = max(size, 1)
	cpu := measure.WatchCPU(time.Now())
	fmt.Fprintf(os.Stderr, "measuring operations at %d bytes (the mix's mean), %v each...\n", size, *per)
	ops, err := bench.MeasureOps(ctx, bench.Options{Workers: *workers, Duration: *per, Sizes: []int64{size}})
	if err != nil {
		return err
	}
	refs, err := measureReferences(ctx, sc, *workers)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "running %s...\n", path)
	res, err := sim.Run(ctx, sim.Options{Scenario: sc, Seed: sc.Seed, OutDir: dir})
	if err != nil {
		return err
	}
	r := report.Build(res, sc, fmt.Sprintf("simrun bench %s", path))
	if err := report.WriteAll(dir, r, res.Gatherer); err != nil {
		return err
	}
	ceiling := bench.CeilingFor(ops, size, bench.OpsPerUpload(res.Ops.S3, res.Ops.Redis, r.Polls.Total, r.Uploads.Total))
	b := report.NewBench(r, res.Measure.DecidedTo.Sub(res.Measure.DecidedFrom), ceiling, refs.pipeline, refs.vegeta, refs.device)
	b.SetMachine(cpu.Shares(time.Now()))
	if err := report.WriteBench(dir, b); err != nil {
		return err
	}
	if err := report.BenchSummary(os.Stdout, b, ops); err != nil {
		return err
	}
	fmt.Printf("output: %s\n", dir)
	return nil
}

// references are what the bench compares a run with: the reference
// pipeline (the coordinator's own steps in a tight loop), a vegeta attack
// of 1 KiB PUTs and the devices' staging path, each on fresh embedded
// fakes in this process.
type references struct {
	pipeline, vegeta, device bench.OpRate
}

// referenceTime is how long each reference runs: long enough for
// thousands of samples, short enough that a bench stays well under two
// minutes beside the operations and the run.
const referenceTime = 3 * time.Second

func measureReferences(ctx context.Context, sc *scenarios.Scenario, workers int) (references, error) {
	var r references
	o := bench.ReferenceOptions{Workers: workers, Duration: referenceTime, Size: 1024,
		Coordinator: coordinator.Config{Strategy: sc.Coordinator.Strategy, LockTTL: sc.Coordinator.LockTTL,
			ResultTTL:         sc.Coordinator.ResultTTL,
			UsageStreamMaxLen: sc.Coordinator.UsageStreamMaxLen}}
	var err error
	fmt.Fprintf(os.Stderr, "reference pipeline (1 KiB, %d workers, %v)...\n", o.Workers, o.Duration)
	if r.pipeline, err = bench.MeasureReference(ctx, o); err != nil {
		return r, err
	}
	fmt.Fprintf(os.Stderr, "vegeta PUTs and device staging PUTs (1 KiB, %d workers, %v each)...\n", o.Workers, o.Duration)
	if r.vegeta, err = bench.MeasureVegeta(ctx, o); err != nil {
		return r, err
	}
	if r.device, err = bench.MeasureDevicePut(ctx, o); err != nil {
		return r, err
	}
	return r, nil
}
