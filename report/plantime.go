package report

import (
	"fmt"
	"math"
	"strings"
)

// PlanSecond is one second of a validation, model beside measured: the
// most uploads in flight and the latency of the uploads planned in it.
type PlanSecond struct {
	Second                                int
	ModelInFlight, MeasuredInFlight       int64
	ModelLatencyMean, MeasuredLatencyMean float64
	ModelLatencyP99, MeasuredLatencyP99   float64
	Stalled                               bool // measured latency mean over StallFactor times the model's
	modelHasLatency, measuredHasLatency   bool
}

// StallFactor marks a second whose measured latency mean is over this
// many times the model's: the measured run stalled there (its own
// process paused, or the machine) in a way the model does not predict.
// Such seconds are shown, never left out of the figures judged above.
const StallFactor = 2.0

// planSeconds lines up the two runs' per-second series.
func planSeconds(plan, measured *Results) []PlanSecond {
	n := max(len(plan.Series), len(measured.Series))
	out := make([]PlanSecond, n)
	for i := range out {
		s := &out[i]
		s.Second = i
		if i < len(plan.Series) {
			p := plan.Series[i]
			s.ModelInFlight, s.ModelLatencyMean, s.ModelLatencyP99 = p.InFlight, p.LatencyMean, p.LatencyP99
			s.modelHasLatency = p.Planned > 0
		}
		if i < len(measured.Series) {
			m := measured.Series[i]
			s.MeasuredInFlight, s.MeasuredLatencyMean, s.MeasuredLatencyP99 = m.InFlight, m.LatencyMean, m.LatencyP99
			s.measuredHasLatency = m.Planned > 0
		}
		s.Stalled = s.modelHasLatency && s.measuredHasLatency && s.MeasuredLatencyMean > StallFactor*s.ModelLatencyMean
	}
	return out
}

// measuredCPUPerUpload is the measured process's CPU-seconds per upload
// over the run (0 when not recorded).
func measuredCPUPerUpload(r *Results) float64 {
	if r.Harness == nil || r.Harness.Saturation == nil || r.Uploads.Total == 0 {
		return 0
	}
	s := r.Harness.Saturation
	return s.ProcessCPUShare * float64(s.CPUs) * r.DurationSeconds / float64(r.Uploads.Total)
}

// writePlanSeconds prints the seconds side by side and names the stalled
// ones.
func writePlanSeconds(s *sumWriter, c PlanCheck) {
	if len(c.Seconds) == 0 {
		return
	}
	s.printf("\nover time (each second of the run, model | measured; latency of the uploads planned in it, seconds):\n")
	rows := [][]string{{"second", "in flight", "latency mean", "latency p99", ""}}
	var stalled []string
	lat := func(v float64, ok bool) string {
		if !ok {
			return "-"
		}
		return fmt.Sprintf("%.4g", v)
	}
	for _, p := range c.Seconds {
		mark := ""
		if p.Stalled {
			mark = fmt.Sprintf("measured %.1fx the model", p.MeasuredLatencyMean/math.Max(p.ModelLatencyMean, 1e-9))
			stalled = append(stalled, fmt.Sprint(p.Second))
		}
		rows = append(rows, []string{fmt.Sprint(p.Second), fmt.Sprintf("%d | %d", p.ModelInFlight, p.MeasuredInFlight),
			lat(p.ModelLatencyMean, p.modelHasLatency) + " | " + lat(p.MeasuredLatencyMean, p.measuredHasLatency),
			lat(p.ModelLatencyP99, p.modelHasLatency) + " | " + lat(p.MeasuredLatencyP99, p.measuredHasLatency), mark})
	}
	s.table(rows)
	if len(stalled) > 0 {
		s.printf("seconds where the measured latency mean is over %gx the model's: %s (counted in the figures above, not left out)\n",
			StallFactor, strings.Join(stalled, ", "))
	}
}
