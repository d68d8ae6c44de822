package report

import (
	"fmt"
	"sort"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/stormsim/stormsim/sim"
	"github.com/stormsim/stormsim/sim/checker"
	"github.com/stormsim/stormsim/sim/history"
)

// Merge builds one Results from the histories of a sharded run (each shard
// drove a disjoint slice of the users): counts, polls and latencies are
// recomputed from the upload records, the invariants from the merged
// check, and the planned rates are the shards' sum.
func Merge(shards []*Results, set *history.Set, check checker.Report) *Results {
	r := &Results{Invariants: []Invariant{}, Gates: []Gate{}}
	if len(shards) > 0 {
		first := shards[0]
		r.Scenario, r.Seed, r.WorkloadHash, r.Strategy, r.Started = first.Scenario, first.Seed, first.WorkloadHash, first.Strategy, first.Started
		r.Rerun = first.Rerun
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
	r.Uploads.Pending, r.Uploads.DecidedLate = int64(check.Pending), int64(check.DecidedLate)
	for k, v := range check.PendingReasons {
		if r.Uploads.PendingReasons == nil {
			r.Uploads.PendingReasons = map[string]int64{}
		}
		r.Uploads.PendingReasons[k] = int64(v)
	}
	r.Latency = latency(lat, true)
	r.Phases = PhaseLatency{Queue: latency(phases[0], false), Upload: latency(phases[1], false),
		Decision: latency(phases[2], false), Notify: latency(phases[3], false)}
	if n := polls.TotalCount(); n > 0 {
		r.Polls = Polls{Mean: polls.Mean(), P50: float64(polls.ValueAtQuantile(50)), P99: float64(polls.ValueAtQuantile(99)),
			Max: float64(polls.Max()), ZeroShare: float64(pushOnly) / float64(n), Counts: counts}
	}
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
	keys := make([]int, 0, len(seconds))
	for k := range seconds {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	for _, k := range keys {
		r.Series = append(r.Series, *seconds[k])
	}
	for _, c := range check.Checks {
		r.Invariants = append(r.Invariants, Invariant{Name: c.Name, OK: c.OK, Violations: c.Violations,
			Examples: nonNil(c.Examples), Inconclusive: c.Inconclusive, Detail: c.Detail})
	}
	// The same verdict as a single run, plus each shard's failed gates
	// (gates are evaluated per shard: they were written for its load).
	r.Harness = &Harness{}
	r.Verdict, r.Reasons = verdict(r, &sim.Result{Interrupted: r.Partial, Planned: r.Uploads.Total})
	for i, s := range shards {
		for _, g := range s.Gates {
			if g.Inconclusive {
				// That shard's harness was bound: its speed gate says nothing.
				r.Gates = append(r.Gates, Gate{Expr: fmt.Sprintf("shard %d: %s", i, g.Expr), Value: g.Value, Inconclusive: true, Reason: g.Reason})
				if r.Verdict == Pass {
					r.Verdict = Inconclusive
				}
				r.Reasons = append(r.Reasons, fmt.Sprintf("shard %d: gate %q inconclusive: %s", i, g.Expr, g.Reason))
				continue
			}
			if !g.OK {
				r.Gates = append(r.Gates, Gate{Expr: fmt.Sprintf("shard %d: %s", i, g.Expr), Value: g.Value, NoData: g.NoData})
				r.Verdict = Fail
				r.Reasons = append([]string{fmt.Sprintf("shard %d: gate %q failed (measured %s)", i, g.Expr, measured(g.Expr, g.Value))}, r.Reasons...)
			}
		}
	}
	return r
}

func newHist() *hdrhistogram.Histogram {
	return hdrhistogram.New(1, int64(time.Hour/time.Microsecond), 3)
}
