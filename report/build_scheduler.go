package report

import (
	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/stormsim/stormsim/scenarios"
	"github.com/stormsim/stormsim/sim"
	"github.com/stormsim/stormsim/sim/schedsim"
)

// BuildScheduler turns a scheduler-only run into results.json, with the
// cost of each strategy.
func BuildScheduler(res *sim.SchedulerResult, sc *scenarios.Scenario, seed uint64, hash, rerun string, opts ...BuildOption) *Results {
	cfg := buildOptions(opts)
	r := &Results{Scenario: sc.Name, Seed: seed, WorkloadHash: hash, Strategy: res.Sched.Strategy,
		Started: res.Started, DurationSeconds: res.Elapsed.Seconds(), Rerun: rerun, Invariants: []Invariant{}}
	r.Scheduler = schedulerResults(res.Sched)
	r.Email = emailResults(res)
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
