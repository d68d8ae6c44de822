package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/stormsim/stormsim/report"
	"github.com/stormsim/stormsim/sim"
	"github.com/stormsim/stormsim/sim/bench"
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
	dir := *out
	if dir == "" {
		dir = filepath.Join("runs", fmt.Sprintf("bench-%s-%s", sc.Name, time.Now().Format("20060102-150405")))
	}
	if err := writable(dir); err != nil {
		return usageError{err}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	size := int64(workload.Mean(sc.Sizes.Dist))
	size = max(size, 1)
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
	achieved := decisionRate(r)
	b := benchReport{Scenario: sc.Name, Ceiling: ceiling, AchievedDecisionsPerSec: achieved,
		RedisCallsPerUpload: r.Harness.RedisCallsPerUpload, S3CallsPerUpload: r.Harness.S3CallsPerUpload,
		Verdict: r.Verdict}
	if ceiling.UploadsSec > 0 {
		b.Efficiency = achieved / ceiling.UploadsSec
	}
	refs.fill(&b)
	f, err := os.Create(filepath.Join(dir, "bench.json"))
	if err != nil {
		return err
	}
	enc := json.NewEncoder(f)
	enc.SetIndent("", "  ")
	_ = enc.Encode(b)
	f.Close()

	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "operation\tsize\tper second\n")
	for _, o := range ops {
		fmt.Fprintf(tw, "%s\t%d\t%.0f\n", o.Op, o.Size, o.PerSec)
	}
	fmt.Fprintf(tw, "\nper upload (as run)\tcount\tseconds\n")
	for _, op := range []string{"put", "get", "head", "copy", "delete", "redis", "poll"} {
		fmt.Fprintf(tw, "%s\t%.2f\t%.6f\n", op, ceiling.PerUpload[op], ceiling.Seconds[op])
	}
	tw.Flush()
	fmt.Printf("\nceiling (uploads decided/s): %.0f\n", ceiling.UploadsSec)
	fmt.Printf("achieved (decisions/s over the decision window): %.0f\n", achieved)
	fmt.Printf("efficiency: %.2f   (redis calls/upload %.2f, s3 calls/upload %.2f; run verdict %s)\n",
		b.Efficiency, b.RedisCallsPerUpload, b.S3CallsPerUpload, r.Verdict)
	fmt.Printf("reference pipeline (uploads decided/s): %.0f   ratio_to_reference: %.2f\n", b.ReferencePerSecond, b.RatioToReference)
	fmt.Printf("device staging PUT/s: %.0f   vegeta PUT/s: %.0f   device_to_vegeta: %.2f\n",
		b.DevicePutPerSecond, b.VegetaPutPerSecond, b.DeviceToVegeta)
	fmt.Printf("output: %s\n", dir)
	return nil
}

type benchReport struct {
	Scenario                string        `json:"scenario"`
	Ceiling                 bench.Ceiling `json:"ceiling"`
	AchievedDecisionsPerSec float64       `json:"achieved_decisions_per_second"`
	Efficiency              float64       `json:"efficiency"`
	RedisCallsPerUpload     float64       `json:"redis_calls_per_upload"`
	S3CallsPerUpload        float64       `json:"s3_calls_per_upload"`
	Verdict                 string        `json:"verdict"`
	// The references (see benchref.go), measured in the same process
	// right before the run.
	ReferencePerSecond float64 `json:"reference_per_second"`
	RatioToReference   float64 `json:"ratio_to_reference"` // achieved decisions/s over the reference pipeline's
	VegetaPutPerSecond float64 `json:"vegeta_put_per_second"`
	DevicePutPerSecond float64 `json:"device_put_per_second"`
	DeviceToVegeta     float64 `json:"device_to_vegeta"`
}

// decisionRate is decided uploads per second between the first and the
// last second in which devices learned outcomes.
func decisionRate(r *report.Results) float64 {
	first, last := -1, -1
	var n int64
	for i, s := range r.Series {
		d := s.Committed + s.Conflict
		if d == 0 {
			continue
		}
		if first < 0 {
			first = i
		}
		last = i
		n += d
	}
	if first < 0 {
		return 0
	}
	return float64(n) / float64(last-first+1)
}
