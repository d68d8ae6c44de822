package report

import (
	"fmt"
	"strings"

	"github.com/stormsim/stormsim/scenarios"
	"github.com/stormsim/stormsim/sim"
	"github.com/stormsim/stormsim/sim/history"
)

// Thresholds of the inconclusive verdict.
const (
	// MinAchievedRatio: below it the planned load was not reached.
	MinAchievedRatio = 0.9
	// MaxLaunchLagSeconds: when the p99 delay between an upload's planned
	// instant and its start exceeds it, the generator fell behind its own
	// schedule (out of CPU or in-flight slots) and the run did not apply
	// the planned load.
	MaxLaunchLagSeconds = 2.0
)

// EvalGates evaluates parsed gates; a gate over a metric without samples
// fails (fail closed).
func EvalGates(gates []scenarios.Gate, r *Results) []Gate {
	out := []Gate{}
	for _, g := range gates {
		v, ok := r.Metric(g.Metric)
		out = append(out, Gate{Expr: g.Expr, Value: v, OK: ok && g.Eval(v), NoData: !ok})
	}
	return out
}

// unseenEvidence lists the scenario's evidence expressions the run did
// not meet (scenarios.Scenario.Evidence): each makes it inconclusive.
func unseenEvidence(evidence []scenarios.Gate, r *Results) []string {
	var out []string
	for _, g := range EvalGates(evidence, r) {
		if !g.OK {
			out = append(out, fmt.Sprintf("evidence %q not seen (measured %s): the situation the scenario's gates exist for did not happen, so they proved nothing",
				g.Expr, measured(g.Expr, g.Value)))
		}
	}
	return out
}

// verdict judges a run; unseen are its unmet evidence expressions.
func verdict(r *Results, res *sim.Result, unseen []string) (string, []string) {
	var fail, inconc []string
	if res.Aborted != "" {
		// abort_on_fail: the run was stopped at a failed gate.
		fail = append(fail, res.Aborted)
	}
	for _, inv := range r.Invariants {
		switch {
		case inv.Violations > 0:
			fail = append(fail, fmt.Sprintf("invariant %s: %d violation(s), e.g. %s", inv.Name, inv.Violations, strings.Join(first(inv.Examples, 3), ", ")))
		case inv.Inconclusive:
			inconc = append(inconc, fmt.Sprintf("invariant %s could not be checked: %s", inv.Name, inv.Detail))
		}
	}
	var excused []string
	for _, g := range r.Gates {
		if g.Inconclusive && (r.Mode == ModeModel || res.Interrupted) {
			// A plan checks no history: its invariant gates are not judged.
			// An interrupted run's speed gates say what the stop did.
			inconc = append(inconc, fmt.Sprintf("gate %q: %s", g.Expr, g.Reason))
			continue
		}
		if g.Inconclusive {
			excused = append(excused, fmt.Sprintf("%q (measured %s)", g.Expr, measured(g.Expr, g.Value)))
			continue
		}
		if !g.OK {
			if g.NoData {
				fail = append(fail, fmt.Sprintf("gate %q: no samples", g.Expr))
			} else {
				fail = append(fail, fmt.Sprintf("gate %q: measured %s", g.Expr, measured(g.Expr, g.Value)))
			}
		}
	}
	if len(excused) > 0 {
		inconc = append(inconc, fmt.Sprintf("harness-bound, so speed gate(s) %s are inconclusive: %s",
			strings.Join(excused, ", "), strings.Join(r.Harness.Saturation.Reasons, "; ")))
	}
	switch {
	case r.Uploads.Pending > 0:
		// Not a pass: the backlog was never decided. Not a failure either,
		// unless a gate on uploads.pending says so (above).
		inconc = append(inconc, fmt.Sprintf("%d upload(s) still pending when the drain ended (%s): their bytes are staged, the system did not decide them in time; raise drain or lower the load",
			r.Uploads.Pending, pendingBreakdown(r.Uploads.PendingReasons)))
	case res.DrainTimeout:
		inconc = append(inconc, "the drain timed out before every event was handled: the system did not finish the planned load in time")
	}
	inconc = append(inconc, res.Unmet...)
	inconc = append(inconc, unseen...)
	if res.External != "" {
		inconc = append(inconc, "external coordinators: "+res.External)
	}
	if res.Interrupted {
		inconc = append(inconc, "the run was interrupted; results are partial")
	}
	if res.Planned > 0 && r.Throughput.AchievedRatio < MinAchievedRatio {
		inconc = append(inconc, fmt.Sprintf("planned load not reached: achieved ratio %.2f < %.2f", r.Throughput.AchievedRatio, MinAchievedRatio))
	}
	if lag := r.Phases.Queue.P99; lag > MaxLaunchLagSeconds {
		inconc = append(inconc, fmt.Sprintf("the generator fell behind its schedule: p99 launch lag %.2fs > %.0fs (harness CPU %.0f%% of all cores)",
			lag, MaxLaunchLagSeconds, 100*r.Harness.CPUUtilization))
	}
	if r.Uploads.Total == 0 && (r.Scheduler == nil || r.Scheduler.Events == 0) {
		inconc = append(inconc, "nothing was measured")
	}
	return judged(fail, inconc)
}

// judged is the verdict of the reasons found: fail when any says the
// system failed (they come first, then the others), inconclusive when the
// run could not be judged, pass otherwise.
func judged(fail, inconc []string) (string, []string) {
	switch {
	case len(fail) > 0:
		return Fail, append(fail, inconc...)
	case len(inconc) > 0:
		return Inconclusive, inconc
	}
	return Pass, []string{}
}

// pendingReasonText says what each pending reason means, in the order the
// summary lists them.
var pendingReasonText = []struct{ reason, text string }{
	{history.PendingQueued, "still queued for a handler"},
	{history.PendingRunning, "in a handler stopped at the end"},
	{history.PendingRetrying, "waiting for a handler retry"},
	{history.PendingDead, "retries exhausted (dead-letter queue)"},
	{history.PendingLost, "event dropped and not reconciled"},
}

// pendingBreakdown is "N still queued for a handler, M ..." in a fixed
// order; unknown reasons come last as they are.
func pendingBreakdown(by map[string]int64) string {
	var parts []string
	seen := map[string]bool{}
	for _, p := range pendingReasonText {
		if n := by[p.reason]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, p.text))
		}
		seen[p.reason] = true
	}
	for _, k := range sortedKeys(by) {
		if !seen[k] && by[k] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", by[k], k))
		}
	}
	return strings.Join(parts, ", ")
}

func first(s []string, n int) []string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
