package report

import (
	"fmt"
	"math"
	"strings"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/stormsim/stormsim/scenarios"
	"github.com/stormsim/stormsim/sim"
	"github.com/stormsim/stormsim/sim/checker"
	"github.com/stormsim/stormsim/sim/history"
	"github.com/stormsim/stormsim/sim/measure"
)

// Build turns a run into results.json, estimates its cost (DefaultPrices
// unless WithPrices is given), evaluates the gates and sets the verdict.
func Build(res *sim.Result, sc *scenarios.Scenario, rerun string, opts ...BuildOption) *Results {
	cfg := buildOptions(opts)
	m := res.Measure
	r := &Results{Scenario: res.Scenario, Seed: res.Seed, WorkloadHash: res.WorkloadHash, Strategy: res.Strategy,
		Started: res.Started, DurationSeconds: res.Elapsed.Seconds(), Rerun: rerun, Partial: res.Interrupted,
		Errors: m.Errors, ErrorCauses: m.ErrorCauses}
	addMeasured(r, m)
	u := &r.Uploads
	pendingFrom(u, res.Check)

	t := &r.Throughput
	t.PlannedRate = res.PlannedRate
	window := res.Window.Seconds()
	if window > 0 {
		t.AchievedRate = float64(res.Launched) / window
	}
	switch {
	case res.Planned > 0 && (t.PlannedRate == 0 || window < 1):
		// A burst: the load is "all planned uploads at once".
		t.AchievedRatio = float64(res.Launched) / float64(res.Planned)
	case t.PlannedRate > 0:
		t.AchievedRatio = math.Min(t.AchievedRate/t.PlannedRate, float64(res.Launched)/float64(max(res.Planned, 1)))
	}
	if el := res.Elapsed.Seconds(); el > 0 {
		t.CommitsPerSecond = float64(u.Committed) / el
		t.UploadsPerSecond = float64(u.Total) / el
	}

	r.Invariants = appendInvariants(r.Invariants, res.Check)
	var s3calls int64
	for _, v := range res.Ops.S3 {
		s3calls += v
	}
	r.Harness = &Harness{CPUSeconds: res.Harness.CPUSeconds, CPUUtilization: res.Harness.Utilization,
		MaxRSSBytes: res.Harness.MaxRSS, HistoryLines: res.HistoryLines, RedisCalls: res.Ops.Redis, S3Calls: s3calls,
		S3Ops: res.Ops.S3, Delivery: res.Delivery, StoredBytes: res.StoredBytes, Goroutines: int(m.MaxGoroutines)}
	addMemory(r, res.Memory)
	if res.Saturation.CPUs > 0 {
		r.Harness.Saturation = saturation(res.Saturation)
	}
	if u.Total > 0 {
		r.Harness.RedisCallsPerUpload = float64(res.Ops.Redis) / float64(u.Total)
		r.Harness.S3CallsPerUpload = float64(s3calls) / float64(u.Total)
	}
	if res.Scheduler != nil {
		r.Scheduler = schedulerResults(*res.Scheduler)
	}
	stored := r.Harness.StoredBytes
	if stored == 0 {
		stored = u.Bytes // upper bound: every uploaded byte kept (cost.go)
	}
	usage := Usage{Uploads: u.Total, Invocations: res.Delivery.Invocations,
		HandlerSeconds: res.HandlerSeconds, S3: res.Ops.S3, StoredBytes: stored,
		RedisSeconds: res.Elapsed.Seconds(), Polls: r.Polls.Total}
	if cfg.regions != nil {
		r.Regions = cfg.regions.apply(&usage)
	}
	r.Cost = cfg.prices.Cost(usage)
	if r.Regions != nil {
		addInterRegion(r.Cost, r.Regions, u.Total, cfg.prices)
	}
	r.Billing = billingFrom(res.Check.Billing, cfg.prices)
	r.Gates = EvalGates(sc.ParsedGates, r)
	excuseGates(r.Gates, sc.ParsedGates, r.Harness.Saturation)
	if res.Interrupted {
		excuseInterrupted(r.Gates, sc.ParsedGates)
	}
	if cfg.model != nil {
		metrics := make([]string, len(sc.ParsedGates))
		for i, g := range sc.ParsedGates {
			metrics[i] = g.Metric
		}
		applyModel(r, cfg.model, r.Gates, metrics)
	}
	r.Verdict, r.Reasons = verdict(r, res, unseenEvidence(sc.ParsedEvidence, r))
	return r
}

// addMeasured fills in what the run's recorder measured (a live run's or
// a replay of its history, measure.Replay): uploads by outcome, polls,
// latency and its phases, the most uploads in flight, the per-second
// series and the fault windows.
func addMeasured(r *Results, m measure.Snapshot) {
	u := &r.Uploads
	u.Committed, u.Conflict = m.Outcomes[history.OutcomeCommitted], m.Outcomes[history.OutcomeConflict]
	u.Rejected, u.Error, u.Unknown = m.Outcomes[history.OutcomeRejected], m.Outcomes[history.OutcomeError], m.Outcomes[history.OutcomeUnknown]
	u.Total = u.Committed + u.Conflict + u.Rejected + u.Error + u.Unknown
	u.Multipart, u.Bytes = m.Multipart, m.Bytes
	u.CommittedV2Plus, u.MaxVersion = m.CommittedV2Plus, m.MaxVersion
	r.Polls = pollsFrom(m.PollsHist, m.Polls, m.PushOnly)
	r.Latency = latency(m.Latency, true)
	r.Phases = PhaseLatency{Queue: latency(m.Phases[0], false), Upload: latency(m.Phases[1], false),
		Decision: latency(m.Phases[2], false), Notify: latency(m.Phases[3], false)}
	r.Throughput.MaxInFlight = m.MaxInFlight
	for i, s := range m.Series {
		r.Series = append(r.Series, Sample{Second: float64(i), Started: s.Started, Committed: s.Committed,
			Conflict: s.Conflict, Errors: s.Errors, InFlight: s.InFlight, Planned: s.Planned})
	}
	addFaultWindows(r, m)
}

// pendingFrom copies the check's undecided uploads into u.
func pendingFrom(u *Uploads, check checker.Report) {
	u.Pending, u.DecidedLate = int64(check.Pending), int64(check.DecidedLate)
	for k, v := range check.PendingReasons {
		if u.PendingReasons == nil {
			u.PendingReasons = map[string]int64{}
		}
		u.PendingReasons[k] = int64(v)
	}
}

// pollsFrom summarises the polls-per-upload histogram; counts are its
// per-bucket counts, pushOnly the uploads that learned their outcome by
// push alone.
func pollsFrom(h *hdrhistogram.Histogram, counts []int64, pushOnly int64) Polls {
	p := Polls{Counts: counts}
	if n := h.TotalCount(); n > 0 {
		p.Mean, p.P50, p.P99 = h.Mean(), float64(h.ValueAtQuantile(50)), float64(h.ValueAtQuantile(99))
		p.Max, p.ZeroShare = float64(h.Max()), float64(pushOnly)/float64(n)
		p.Total = int64(math.Round(h.Mean() * float64(n)))
	}
	return p
}

// appendInvariants adds the check's results to dst.
func appendInvariants(dst []Invariant, check checker.Report) []Invariant {
	for _, c := range check.Checks {
		dst = append(dst, Invariant{Name: c.Name, OK: c.OK, Violations: c.Violations,
			Examples: nonNil(c.Examples), Inconclusive: c.Inconclusive, Detail: c.Detail})
	}
	return dst
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func latency(h *hdrhistogram.Histogram, spectrum bool) Latency {
	if h == nil || h.TotalCount() == 0 {
		return Latency{}
	}
	sec := func(v int64) float64 { return float64(v) / 1e6 }
	l := Latency{Count: h.TotalCount(), Mean: h.Mean() / 1e6, P50: sec(h.ValueAtQuantile(50)), P90: sec(h.ValueAtQuantile(90)),
		P99: sec(h.ValueAtQuantile(99)), P999: sec(h.ValueAtQuantile(99.9)), Max: sec(h.Max())}
	if spectrum {
		for _, q := range []float64{0, 10, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 99.95, 99.99, 99.999, 100} {
			l.Percentiles = append(l.Percentiles, [2]float64{q, sec(h.ValueAtQuantile(q))})
		}
	}
	return l
}

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
