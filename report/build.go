package report

import (
	"math"

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
