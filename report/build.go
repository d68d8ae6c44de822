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
	"github.com/stormsim/stormsim/sim/schedsim"
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

// Build turns a run into results.json, estimates its cost (DefaultPrices
// unless WithPrices is given), evaluates the gates and sets the verdict.
func Build(res *sim.Result, sc *scenarios.Scenario, rerun string, opts ...BuildOption) *Results {
	cfg := buildOptions(opts)
	m := res.Measure
	r := &Results{Scenario: res.Scenario, Seed: res.Seed, WorkloadHash: res.WorkloadHash, Strategy: res.Strategy,
		Started: res.Started, DurationSeconds: res.Elapsed.Seconds(), Rerun: rerun, Partial: res.Interrupted,
		Errors: m.Errors, ErrorCauses: m.ErrorCauses}
	u := &r.Uploads
	u.Committed, u.Conflict = m.Outcomes[history.OutcomeCommitted], m.Outcomes[history.OutcomeConflict]
	u.Rejected, u.Error, u.Unknown = m.Outcomes[history.OutcomeRejected], m.Outcomes[history.OutcomeError], m.Outcomes[history.OutcomeUnknown]
	u.Total = u.Committed + u.Conflict + u.Rejected + u.Error + u.Unknown
	u.Multipart, u.Bytes = m.Multipart, m.Bytes
	u.CommittedV2Plus, u.MaxVersion = m.CommittedV2Plus, m.MaxVersion
	pendingFrom(u, res.Check)
	r.Polls = pollsFrom(m.PollsHist, m.Polls, m.PushOnly)
	r.Latency = latency(m.Latency, true)
	r.Phases = PhaseLatency{Queue: latency(m.Phases[0], false), Upload: latency(m.Phases[1], false),
		Decision: latency(m.Phases[2], false), Notify: latency(m.Phases[3], false)}

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
	t.MaxInFlight = m.MaxInFlight

	r.Invariants = appendInvariants(r.Invariants, res.Check)
	for i, s := range m.Series {
		r.Series = append(r.Series, Sample{Second: float64(i), Started: s.Started, Committed: s.Committed,
			Conflict: s.Conflict, Errors: s.Errors, InFlight: s.InFlight, Planned: s.Planned})
	}
	addFaultWindows(r, m)
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
	r.Cost = cfg.prices.Cost(Usage{Uploads: u.Total, Invocations: res.Delivery.Invocations,
		HandlerSeconds: res.HandlerSeconds, S3: res.Ops.S3, StoredBytes: stored,
		RedisSeconds: res.Elapsed.Seconds(), Polls: r.Polls.Total})
	r.Gates = EvalGates(sc.ParsedGates, r)
	excuseGates(r.Gates, sc.ParsedGates, r.Harness.Saturation)
	r.Verdict, r.Reasons = verdict(r, res)
	return r
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

// Metric returns a gate metric's value; ok is false when it has no samples.
func (r *Results) Metric(name string) (float64, bool) {
	u := r.Uploads
	lat := func(v float64) (float64, bool) { return v, r.Latency.Count > 0 }
	pol := func(v float64) (float64, bool) { return v, u.Committed+u.Conflict+u.Rejected > 0 }
	sch := func(f func(*Scheduler) float64) (float64, bool) {
		if r.Scheduler == nil || r.Scheduler.Events == 0 {
			return 0, false
		}
		return f(r.Scheduler), true
	}
	switch name {
	case "uploads.total":
		return float64(u.Total), true
	case "uploads.committed":
		return float64(u.Committed), true
	case "uploads.conflict":
		return float64(u.Conflict), true
	case "uploads.rejected":
		return float64(u.Rejected), true
	case "uploads.error":
		return float64(u.Error), true
	case "uploads.unknown":
		return float64(u.Unknown), true
	case "uploads.committed_v2plus":
		return float64(u.CommittedV2Plus), true
	case "uploads.max_version":
		return float64(u.MaxVersion), true
	case "uploads.pending":
		return float64(u.Pending), true
	case "uploads.conflict_rate":
		d := u.Committed + u.Conflict
		return float64(u.Conflict) / float64(max(d, 1)), d > 0
	case "polls.mean":
		return pol(r.Polls.Mean)
	case "polls.p50":
		return pol(r.Polls.P50)
	case "polls.p99":
		return pol(r.Polls.P99)
	case "polls.max":
		return pol(r.Polls.Max)
	case "polls.zero_share":
		return pol(r.Polls.ZeroShare)
	case "latency.mean":
		return lat(r.Latency.Mean)
	case "latency.p50":
		return lat(r.Latency.P50)
	case "latency.p90":
		return lat(r.Latency.P90)
	case "latency.p99":
		return lat(r.Latency.P99)
	case "latency.p999":
		return lat(r.Latency.P999)
	case "latency.max":
		return lat(r.Latency.Max)
	case "throughput.achieved_rate":
		return r.Throughput.AchievedRate, u.Total > 0
	case "throughput.achieved_ratio":
		return r.Throughput.AchievedRatio, u.Total > 0
	case "throughput.commits_per_second":
		return r.Throughput.CommitsPerSecond, u.Total > 0
	case "invariants.violations":
		n := 0
		for _, inv := range r.Invariants {
			n += inv.Violations
		}
		return float64(n), len(r.Invariants) > 0
	case "errors.total":
		var n int64
		for _, v := range r.Errors {
			n += v
		}
		return float64(n), true
	case "scheduler.lateness.mean":
		return sch(func(s *Scheduler) float64 { return s.Lateness.Mean })
	case "scheduler.lateness.p50":
		return sch(func(s *Scheduler) float64 { return s.Lateness.P50 })
	case "scheduler.lateness.p99":
		return sch(func(s *Scheduler) float64 { return s.Lateness.P99 })
	case "scheduler.lateness.max":
		return sch(func(s *Scheduler) float64 { return s.Lateness.Max })
	case "scheduler.early":
		return sch(func(s *Scheduler) float64 { return float64(s.Early) })
	case "scheduler.missed":
		return sch(func(s *Scheduler) float64 { return float64(s.Missed) })
	case "scheduler.duplicates":
		return sch(func(s *Scheduler) float64 { return float64(s.Duplicates) })
	case "scheduler.events":
		return sch(func(s *Scheduler) float64 { return float64(s.Events) })
	case "delivery.failures":
		if r.Harness == nil {
			return 0, false
		}
		return float64(r.Harness.Delivery.Failures), u.Total > 0
	case "cost.per_1000_uploads":
		if r.Cost == nil {
			return 0, false
		}
		return r.Cost.Per1000, u.Total > 0
	}
	return r.regionMetric(name)
}

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

func verdict(r *Results, res *sim.Result) (string, []string) {
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

// BuildScheduler turns a scheduler-only run into results.json, with the
// cost of each strategy.
func BuildScheduler(res *sim.SchedulerResult, sc *scenarios.Scenario, seed uint64, hash, rerun string, opts ...BuildOption) *Results {
	cfg := buildOptions(opts)
	r := &Results{Scenario: sc.Name, Seed: seed, WorkloadHash: hash, Strategy: res.Sched.Strategy,
		Started: res.Started, DurationSeconds: res.Elapsed.Seconds(), Rerun: rerun, Invariants: []Invariant{}}
	r.Scheduler = schedulerResults(res.Sched)
	for i, s := range res.Sched.Strategies {
		c := cfg.prices.Cost(schedulerUsage(s, sc.Scheduler))
		if i == 0 {
			r.Cost = c
		} else if i-1 < len(r.Scheduler.Peers) {
			r.Scheduler.Peers[i-1].Cost = c.Total
		}
	}
	r.Invariants = appendInvariants(r.Invariants, res.Check)
	r.Harness = &Harness{CPUSeconds: res.Harness.CPUSeconds, CPUUtilization: res.Harness.Utilization,
		MaxRSSBytes: res.Harness.MaxRSS, HistoryLines: res.HistoryLines}
	r.Gates = EvalGates(sc.ParsedGates, r)
	r.Verdict, r.Reasons = verdict(r, &sim.Result{})
	return r
}

// schedulerResults summarises a scheduler run: the main strategy and its
// peers on the same events.
func schedulerResults(res schedsim.Result) *Scheduler {
	var out *Scheduler
	for i, s := range res.Strategies {
		if i == 0 {
			out = &Scheduler{Strategy: s.Strategy, Events: s.Events, Runs: s.Runs, Early: s.Early,
				Missed: s.Missed, Duplicates: s.Duplicates, Invocations: s.Invocations, EmptyWakeups: s.EmptyWakeups,
				RuleUpdates: s.RuleUpdates, Throttled: s.ThrottledUpdates, TheoryMean: s.TheoryMeanSeconds,
				Lateness: latency(s.Histogram, true)}
			out.LatenessCounts, out.LatenessBucketSeconds = latenessCounts(s.Histogram, s.TheoryMeanSeconds)
			continue
		}
		out.Peers = append(out.Peers, SchedulerPeer{Strategy: s.Strategy, MeanLateness: s.Lateness.Mean,
			P99Lateness: s.Lateness.P99, MaxLateness: s.Lateness.Max, Invocations: s.Invocations,
			RuleUpdates: s.RuleUpdates, Early: s.Early, Missed: s.Missed})
	}
	return out
}

// schedulerUsage is what one scheduler strategy counted: a handler
// invocation per rule (or one-shot schedule) invocation, the handler time
// per event run, and Redis node-hours over the simulated time when the
// event table lives in Redis.
func schedulerUsage(s schedsim.StrategyResult, cfg *scenarios.Scheduler) Usage {
	u := Usage{Events: s.Events, Invocations: s.Invocations, RuleUpdates: s.RuleUpdates}
	if s.Strategy == schedsim.StrategyOneShot {
		u.SchedulerInvocations = s.Invocations
	} else {
		u.RuleInvocations = s.Invocations
	}
	if cfg != nil {
		u.HandlerSeconds = float64(s.Runs) * cfg.HandlerTimePerEvent.Seconds()
		if cfg.Store == "redis" {
			u.RedisSeconds = s.SimulatedSeconds
		}
	}
	return u
}

// maxLatenessBuckets bounds Scheduler.LatenessCounts.
const maxLatenessBuckets = 720

// latenessCounts turns the lateness histogram (microseconds) into fixed
// buckets: a twelfth of the resolution (5 s for minute resolution, as the
// lateness chart draws them), or 1 s when the strategy has no theory.
func latenessCounts(h *hdrhistogram.Histogram, theoryMean float64) ([]int64, float64) {
	if h == nil || h.TotalCount() == 0 {
		return nil, 0
	}
	width := 1.0
	if theoryMean > 0 {
		width = 2 * theoryMean / 12
	}
	n := min(int(float64(h.Max())/1e6/width)+1, maxLatenessBuckets)
	counts := make([]int64, n)
	for _, b := range h.Distribution() {
		if b.Count == 0 {
			continue
		}
		i := min(int(float64(b.From)/1e6/width), n-1)
		counts[max(i, 0)] += b.Count
	}
	return counts, width
}
