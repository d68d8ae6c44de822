package report

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/stormsim/stormsim/sim/bench"
	"github.com/stormsim/stormsim/sim/measure"
)

// Bench is bench.json (simrun bench): a run's decisions per second beside
// the ceiling its operation mix allows on the embedded fakes, and beside
// the references measured in the same process right before the run.
type Bench struct {
	Scenario                string        `json:"scenario"`
	Ceiling                 bench.Ceiling `json:"ceiling"`
	AchievedDecisionsPerSec float64       `json:"achieved_decisions_per_second"`
	// DecisionWindowSeconds is the span from the first to the last
	// decision a device learned, over which the rate above is counted.
	DecisionWindowSeconds float64 `json:"decision_window_seconds"`
	Efficiency            float64 `json:"efficiency"`
	RedisCallsPerUpload   float64 `json:"redis_calls_per_upload"`
	S3CallsPerUpload      float64 `json:"s3_calls_per_upload"`
	Verdict               string  `json:"verdict"`
	// The references: the reference pipeline (the coordinator's own steps
	// in a tight loop), a vegeta attack of 1 KiB PUTs and the devices'
	// staging path, each on fresh embedded fakes.
	ReferencePerSecond float64 `json:"reference_per_second"`
	RatioToReference   float64 `json:"ratio_to_reference"` // achieved decisions/s over the reference pipeline's
	VegetaPutPerSecond float64 `json:"vegeta_put_per_second"`
	DevicePutPerSecond float64 `json:"device_put_per_second"`
	DeviceToVegeta     float64 `json:"device_to_vegeta"`
	// The machine while the bench measured (the operations, the
	// references and the run), as shares of the wall time over all cores:
	// the ratios compare rates measured one after another, so a neighbour
	// whose load changes between them moves them. -1 when unknown.
	MachineCPUBusyShare float64 `json:"machine_cpu_busy_share"`
	OtherCPUShare       float64 `json:"other_cpu_share"`
	CPUs                int     `json:"cpus"`
}

// SetMachine records who had the CPU while the bench measured.
func (b *Bench) SetMachine(c measure.CPUShares) {
	b.MachineCPUBusyShare, b.OtherCPUShare, b.CPUs = c.Machine, c.Other, c.CPUs
	if c.Machine < 0 {
		b.OtherCPUShare = -1
	}
}

// NewBench judges run r against ceiling and the references' rates (a
// ratio stays 0 when its denominator could not be measured). window is
// the exact span from the first to the last decision devices learned;
// when it is zero (a replayed run, a single decision) the rate falls back
// to whole seconds of the series.
func NewBench(r *Results, window time.Duration, ceiling bench.Ceiling, pipeline, vegeta, device bench.OpRate) *Bench {
	b := &Bench{Scenario: r.Scenario, Ceiling: ceiling, AchievedDecisionsPerSec: DecisionRate(r), Verdict: r.Verdict,
		MachineCPUBusyShare: -1, OtherCPUShare: -1,
		ReferencePerSecond: pipeline.PerSec, VegetaPutPerSecond: vegeta.PerSec, DevicePutPerSecond: device.PerSec}
	if decided := r.Uploads.Committed + r.Uploads.Conflict; window > 0 && decided > 1 {
		// n decisions span n-1 gaps between the first and the last.
		b.AchievedDecisionsPerSec = float64(decided-1) / window.Seconds()
		b.DecisionWindowSeconds = window.Seconds()
	}
	if r.Harness != nil {
		b.RedisCallsPerUpload, b.S3CallsPerUpload = r.Harness.RedisCallsPerUpload, r.Harness.S3CallsPerUpload
	}
	if ceiling.UploadsSec > 0 {
		b.Efficiency = b.AchievedDecisionsPerSec / ceiling.UploadsSec
	}
	if pipeline.PerSec > 0 {
		b.RatioToReference = b.AchievedDecisionsPerSec / pipeline.PerSec
	}
	if vegeta.PerSec > 0 {
		b.DeviceToVegeta = device.PerSec / vegeta.PerSec
	}
	return b
}

// DecisionRate is decided uploads per second between the first and the
// last second in which devices learned outcomes. Whole seconds overstate
// the span by up to two seconds, which matters for a short phase: the
// bench uses the exact window when it has it.
func DecisionRate(r *Results) float64 {
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

// WriteBench writes bench.json into dir.
func WriteBench(dir string, b *Bench) error {
	data, err := json.MarshalIndent(b, "", "  ")
	if err != nil {
		return fmt.Errorf("write bench: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "bench.json"), append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("write bench: %w", err)
	}
	return nil
}

// BenchSummary writes the bench's terminal text: the measured operations,
// the run's operations per upload, the ceiling, the efficiency and the
// references.
func BenchSummary(w io.Writer, b *Bench, ops []bench.OpRate) error {
	s := &sumWriter{w: w}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "operation\tsize\tper second\n")
	for _, o := range ops {
		fmt.Fprintf(tw, "%s\t%d\t%.0f\n", o.Op, o.Size, o.PerSec)
	}
	fmt.Fprintf(tw, "\nper upload (as run)\tcount\tseconds\n")
	for _, op := range []string{"put", "get", "head", "copy", "delete", "redis", "poll"} {
		fmt.Fprintf(tw, "%s\t%.2f\t%.6f\n", op, b.Ceiling.PerUpload[op], b.Ceiling.Seconds[op])
	}
	s.err = tw.Flush()
	s.printf("\nceiling (uploads decided/s): %.0f\n", b.Ceiling.UploadsSec)
	s.printf("achieved (decisions/s over the decision window of %.2fs): %.0f\n", b.DecisionWindowSeconds, b.AchievedDecisionsPerSec)
	s.printf("efficiency: %.2f   (redis calls/upload %.2f, s3 calls/upload %.2f; run verdict %s)\n",
		b.Efficiency, b.RedisCallsPerUpload, b.S3CallsPerUpload, b.Verdict)
	s.printf("reference pipeline (uploads decided/s): %.0f   ratio_to_reference: %.2f\n", b.ReferencePerSecond, b.RatioToReference)
	s.printf("device staging PUT/s: %.0f   vegeta PUT/s: %.0f   device_to_vegeta: %.2f\n",
		b.DevicePutPerSecond, b.VegetaPutPerSecond, b.DeviceToVegeta)
	if b.OtherCPUShare > MaxOtherCPUShare {
		s.printf("shared machine: other processes took %s of the %d cores while the bench measured (machine %s busy);\n"+
			"  its rates and ratios are not an idle machine's, and a neighbour whose load changed between the references and the run moved the ratios\n",
			percent(b.OtherCPUShare), b.CPUs, percent(b.MachineCPUBusyShare))
	}
	if s.err != nil {
		return fmt.Errorf("write bench: %w", s.err)
	}
	return nil
}
