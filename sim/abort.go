package sim

import (
	"fmt"
	"time"

	"github.com/stormsim/stormsim/scenarios"
)

// abortGrace is how long uploads in flight may go on after an abort (or an
// interrupt) before they are cut off, and the longest drain after one.
const abortGrace = 5 * time.Second

// liveMetrics read the gate metrics scenarios.Metrics marks Live from a
// progress snapshot. Each only grows during a run, so a gate bounding one
// from above ("<", "<=", "==") that fails now fails at the end too:
// aborting on it is never a false alarm. Every other gate waits for the
// end of the run.
var liveMetrics = map[string]func(Progress) float64{
	"uploads.total":     func(p Progress) float64 { return float64(p.Done) },
	"uploads.committed": func(p Progress) float64 { return float64(p.Committed) },
	"uploads.conflict":  func(p Progress) float64 { return float64(p.Conflict) },
	"uploads.rejected":  func(p Progress) float64 { return float64(p.Rejected) },
	"uploads.error":     func(p Progress) float64 { return float64(p.Errors - p.Unknown) },
	"uploads.unknown":   func(p Progress) float64 { return float64(p.Unknown) },
	"latency.max":       func(p Progress) float64 { return p.LatencyMax.Seconds() },
	"delivery.failures": func(p Progress) float64 { return float64(p.DeliveryFailures) },
}

// LiveGate reports whether a gate can be judged during a run (see
// AbortOnGates).
func LiveGate(g scenarios.Gate) bool {
	m, _ := scenarios.LookupMetric(g.Metric)
	_, ok := liveMetrics[g.Metric]
	return m.Live && ok && (g.Op == "<" || g.Op == "<=" || g.Op == "==")
}

// AbortOnGates returns an Options.Abort that stops a run at the first gate
// a progress snapshot proves failed: a gate over a growing counter (uploads
// by outcome, latency.max) bounded from above. Gates on rates, quantiles and
// invariants are judged at the end as usual.
func AbortOnGates(gates []scenarios.Gate) func(Progress) (string, bool) {
	var live []scenarios.Gate
	for _, g := range gates {
		if LiveGate(g) {
			live = append(live, g)
		}
	}
	return func(p Progress) (string, bool) {
		for _, g := range live {
			v := liveMetrics[g.Metric](p)
			// "==" on a growing counter fails for good only once it is past
			// the value; below it, it may still get there.
			if g.Op == "==" && v < g.Value || g.Eval(v) {
				continue
			}
			return fmt.Sprintf("aborted: gate %q failed at %.1fs (measured %s)", g.Expr, p.Elapsed.Seconds(), g.FormatValue(v)), true
		}
		return "", false
	}
}
