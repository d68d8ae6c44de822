package report

import (
	"fmt"
	"strings"
	"time"

	"github.com/stormsim/stormsim/scenarios"
	"github.com/stormsim/stormsim/sim"
	"github.com/stormsim/stormsim/sim/checker"
	"github.com/stormsim/stormsim/sim/history"
	"github.com/stormsim/stormsim/sim/measure"
)

// Merge builds one Results from the histories of a sharded run (each shard
// drove a disjoint slice of the users): counts, polls, latencies and the
// per-second series are rebuilt by replaying the merged history through
// the run's own recorder (measure.Replay), the invariants come from the
// merged check, and error counts and planned rates are the shards' sums.
// The scenario's gates (each shard's results.json carries their
// expressions) are evaluated again over the merged figures, as a single
// run would; an expression that does not parse is an error naming the
// shard.
func Merge(shards []*Results, set *history.Set, check checker.Report) (*Results, error) {
	r := &Results{Invariants: []Invariant{}, Gates: []Gate{}}
	if len(shards) > 0 {
		first := shards[0]
		r.Scenario, r.Seed, r.WorkloadHash, r.Strategy, r.Started = first.Scenario, first.Seed, first.WorkloadHash, first.Strategy, first.Started
	}
	r.Rerun = mergeRerun(shards)
	parsed, err := shardGates(shards)
	if err != nil {
		return nil, err
	}
	var end time.Time
	for _, s := range shards {
		r.Throughput.PlannedRate += s.Throughput.PlannedRate
		if s.Started.Before(r.Started) {
			r.Started = s.Started
		}
		if e := s.Started.Add(time.Duration(s.DurationSeconds * float64(time.Second))); e.After(end) {
			end = e
		}
		r.Partial = r.Partial || s.Partial
	}
	r.DurationSeconds = end.Sub(r.Started).Seconds()

	// The shards' histories go through the recorder a run records with,
	// as if one process had run them all: the counts, polls, latencies,
	// most in flight and per-second series are a single run's figures.
	addMeasured(r, measure.Replay(r.Started, set).Snapshot())
	pendingFrom(&r.Uploads, check)
	// Each shard kept its own schedule (shards may not even start
	// together): the merged rate is the sum of theirs.
	for _, s := range shards {
		r.Throughput.AchievedRate += s.Throughput.AchievedRate
	}
	if r.Throughput.PlannedRate > 0 {
		r.Throughput.AchievedRatio = r.Throughput.AchievedRate / r.Throughput.PlannedRate
	}
	if r.DurationSeconds > 0 {
		r.Throughput.CommitsPerSecond = float64(r.Uploads.Committed) / r.DurationSeconds
		r.Throughput.UploadsPerSecond = float64(r.Uploads.Total) / r.DurationSeconds
	}
	r.Invariants = appendInvariants(r.Invariants, check)
	mergeErrors(r, shards)
	r.Harness = mergeHarness(shards, r.Uploads.Total)
	r.Cost = mergeCost(shards, r.Uploads.Total)
	r.Billing = mergeBilling(shards, check)
	// The same gates and verdict as a single run, over the merged figures.
	r.Gates = EvalGates(parsed, r)
	excuseGates(r.Gates, parsed, r.Harness.Saturation)
	notes := shardVerdicts(r, shards)
	r.Verdict, r.Reasons = verdict(r, &sim.Result{Interrupted: r.Partial, Planned: r.Uploads.Total})
	r.Reasons = append(r.Reasons, notes...)
	return r, nil
}

// mergeRerun names every shard's command, joined into one shell line: the
// run is reproduced only by running them all (each writes its own folder;
// simrun report --merge joins them again).
func mergeRerun(shards []*Results) string {
	var lines []string
	for _, s := range shards {
		if s.Rerun != "" {
			lines = append(lines, s.Rerun)
		}
	}
	return strings.Join(lines, "; ")
}

// shardGates parses the gate expressions the shards were judged by, in
// their order, each once (every shard of a run has the same gates; a gate
// only some shards list is still judged).
func shardGates(shards []*Results) ([]scenarios.Gate, error) {
	var out []scenarios.Gate
	seen := map[string]bool{}
	for i, s := range shards {
		for _, g := range s.Gates {
			if seen[g.Expr] {
				continue
			}
			seen[g.Expr] = true
			p, err := scenarios.ParseGate(g.Expr)
			if err != nil {
				return nil, fmt.Errorf("shard %d (%s): results.json gates: %q: %w", i, s.Scenario, g.Expr, err)
			}
			out = append(out, p)
		}
	}
	return out, nil
}

// shardVerdicts keeps what a shard's gates saw that the merged gates
// cannot: a merged gate without samples (a metric the merged history does
// not hold) is judged per shard, failing if a shard failed it; a shard that
// failed a gate the merged run passes is named in the reasons, without
// changing the verdict (the gate was written for the whole load, which
// only the merge measures).
func shardVerdicts(r *Results, shards []*Results) []string {
	var notes []string
	for gi := range r.Gates {
		g := &r.Gates[gi]
		for i, s := range shards {
			for _, sg := range s.Gates {
				if sg.Expr != g.Expr || sg.NoData || sg.Inconclusive || sg.OK {
					continue
				}
				if g.NoData {
					g.NoData, g.OK, g.Value = false, false, sg.Value
					g.Reason = fmt.Sprintf("not measurable over the merged run; judged per shard: shard %d failed it", i)
					notes = append(notes, fmt.Sprintf("gate %q is not measurable over the merged run, judged per shard: shard %d failed it", g.Expr, i))
				} else if g.OK {
					notes = append(notes, fmt.Sprintf("shard %d alone failed gate %q (measured %s); the merged run passes it", i, sg.Expr, measured(sg.Expr, sg.Value)))
				}
			}
		}
		if g.NoData {
			// Every shard that measured it passed.
			for _, s := range shards {
				for _, sg := range s.Gates {
					if g.NoData && sg.Expr == g.Expr && !sg.NoData && !sg.Inconclusive && sg.OK {
						g.NoData, g.OK, g.Value = false, true, sg.Value
						g.Reason = "not measurable over the merged run; every shard passed it"
					}
				}
			}
		}
	}
	return notes
}
