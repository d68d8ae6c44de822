package report

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/stormsim/stormsim/scenarios"
	"github.com/stormsim/stormsim/sim"
	"github.com/stormsim/stormsim/sim/checker"
	"github.com/stormsim/stormsim/sim/history"
)

// Merge builds one Results from the histories of a sharded run (each shard
// drove a disjoint slice of the users): counts, polls and latencies are
// recomputed from the upload records, the invariants from the merged
// check, and the planned rates are the shards' sum. The scenario's gates
// (each shard's results.json carries their expressions) are evaluated again
// over the merged figures, as a single run would; an expression that does
// not parse is an error naming the shard.
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

	decided := map[string]time.Time{}
	for _, c := range set.Commits {
		decided[c.ID] = c.At
	}
	for _, c := range set.Conflicts {
		decided[c.ID] = c.At
	}
	for _, c := range set.Rejects {
		decided[c.ID] = c.At
	}
	lat, polls := newHist(), hdrhistogram.New(0, 1_000_000, 3)
	var phases [4]*hdrhistogram.Histogram
	for i := range phases {
		phases[i] = newHist()
	}
	counts := make([]int64, 33)
	var pushOnly int64
	seconds := map[int]*Sample{}
	us := func(d time.Duration) int64 { return max(int64(d/time.Microsecond), 1) }
	for _, u := range set.Uploads {
		switch u.Outcome {
		case history.OutcomeCommitted:
			r.Uploads.Committed++
			if u.Version >= 2 {
				r.Uploads.CommittedV2Plus++
			}
			r.Uploads.MaxVersion = max(r.Uploads.MaxVersion, u.Version)
		case history.OutcomeConflict:
			r.Uploads.Conflict++
		case history.OutcomeRejected:
			r.Uploads.Rejected++
		case history.OutcomeError:
			r.Uploads.Error++
		default:
			r.Uploads.Unknown++
		}
		r.Uploads.Bytes += u.Size
		if u.Parts > 0 {
			r.Uploads.Multipart++
		}
		sec := int(u.Done.Sub(r.Started) / time.Second)
		s := seconds[sec]
		if s == nil {
			s = &Sample{Second: float64(sec)}
			seconds[sec] = s
		}
		switch u.Outcome {
		case history.OutcomeCommitted:
			s.Committed++
		case history.OutcomeConflict:
			s.Conflict++
		case history.OutcomeError, history.OutcomeUnknown:
			s.Errors++
			continue
		}
		_ = lat.RecordValue(us(u.Done.Sub(u.Intended)))
		_ = phases[0].RecordValue(us(u.Start.Sub(u.QueueFrom())))
		_ = phases[1].RecordValue(us(u.Staged.Sub(u.Start)))
		if at, ok := decided[u.ID]; ok {
			_ = phases[2].RecordValue(us(at.Sub(u.Staged)))
			_ = phases[3].RecordValue(us(u.Done.Sub(at)))
		}
		_ = polls.RecordValue(int64(u.Polls))
		counts[min(u.Polls, len(counts)-1)]++
		if u.Polls == 0 && u.Push {
			pushOnly++
		}
	}
	r.Uploads.Total = int64(len(set.Uploads))
	pendingFrom(&r.Uploads, check)
	r.Latency = latency(lat, true)
	r.Phases = PhaseLatency{Queue: latency(phases[0], false), Upload: latency(phases[1], false),
		Decision: latency(phases[2], false), Notify: latency(phases[3], false)}
	if polls.TotalCount() > 0 {
		r.Polls = pollsFrom(polls, counts, pushOnly)
	}
	// Each shard kept its own schedule (shards may not even start
	// together): the merged rate is the sum of theirs.
	for _, s := range shards {
		r.Throughput.AchievedRate += s.Throughput.AchievedRate
	}
	if r.Throughput.PlannedRate > 0 {
		r.Throughput.AchievedRatio = r.Throughput.AchievedRate / r.Throughput.PlannedRate
	}
	r.Throughput.MaxInFlight = maxInFlight(set.Uploads)
	if r.DurationSeconds > 0 {
		r.Throughput.CommitsPerSecond = float64(r.Uploads.Committed) / r.DurationSeconds
		r.Throughput.UploadsPerSecond = float64(r.Uploads.Total) / r.DurationSeconds
	}
	keys := make([]int, 0, len(seconds))
	for k := range seconds {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	for _, k := range keys {
		r.Series = append(r.Series, *seconds[k])
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

// maxInFlight is the most uploads in flight at once over the merged run,
// each from its start to its end, as a single run counts them: the shards'
// own maxima neither add (shards need not run together) nor bound it.
func maxInFlight(uploads []history.Upload) int64 {
	type edge struct {
		at time.Time
		d  int64
	}
	edges := make([]edge, 0, 2*len(uploads))
	for _, u := range uploads {
		if u.Start.IsZero() || u.Done.IsZero() {
			continue
		}
		edges = append(edges, edge{u.Start, 1}, edge{u.Done, -1})
	}
	// At one instant, ends before starts: an upload that ended as another
	// began was not in flight with it.
	sort.Slice(edges, func(i, j int) bool {
		if !edges[i].at.Equal(edges[j].at) {
			return edges[i].at.Before(edges[j].at)
		}
		return edges[i].d < edges[j].d
	})
	var n, most int64
	for _, e := range edges {
		n += e.d
		most = max(most, n)
	}
	return most
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

func newHist() *hdrhistogram.Histogram {
	return hdrhistogram.New(1, int64(time.Hour/time.Microsecond), 3)
}
