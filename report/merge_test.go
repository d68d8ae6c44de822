package report

import (
	"strings"
	"testing"
	"time"

	"github.com/stormsim/stormsim/sim/checker"
	"github.com/stormsim/stormsim/sim/delivery"
	"github.com/stormsim/stormsim/sim/history"
	"github.com/stormsim/stormsim/sim/measure"
)

var mergeT0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func mergeUpload(id string, outcome history.Outcome, polls int) history.Upload {
	return history.Upload{T: history.KindUpload, ID: id, Outcome: outcome, Polls: polls, Size: 10,
		Intended: mergeT0, Start: mergeT0, Staged: mergeT0.Add(10 * time.Millisecond), Done: mergeT0.Add(100 * time.Millisecond)}
}

// mergeShards are two shards of a passing run, without gates.
func mergeShards() []*Results {
	return []*Results{
		{Scenario: "s", Started: mergeT0, DurationSeconds: 2, Throughput: Throughput{PlannedRate: 50, AchievedRate: 50}},
		{Scenario: "s", Started: mergeT0, DurationSeconds: 3, Throughput: Throughput{PlannedRate: 50, AchievedRate: 49}},
	}
}

func TestMerge_ShardsSumAndGatesCarryOver(t *testing.T) {
	set := &history.Set{Uploads: []history.Upload{mergeUpload("a", history.OutcomeCommitted, 1), mergeUpload("b", history.OutcomeConflict, 0)}}
	shards := mergeShards()
	r, err := Merge(shards, set, checker.Report{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Uploads.Total != 2 || r.Uploads.Committed != 1 || r.Uploads.Conflict != 1 || r.Polls.Mean != 0.5 {
		t.Errorf("counts %+v polls %+v", r.Uploads, r.Polls)
	}
	if r.Throughput.PlannedRate != 100 || r.Throughput.AchievedRate != 99 || r.DurationSeconds != 3 {
		t.Errorf("throughput %+v duration %v", r.Throughput, r.DurationSeconds)
	}
	if r.Verdict != Pass {
		t.Errorf("verdict %s %v, want pass", r.Verdict, r.Reasons)
	}
	shards[1].Gates = []Gate{{Expr: "polls.mean <= 0.1", Value: 0.5}}
	if r, _ := Merge(shards, set, checker.Report{}); r.Verdict != Fail || len(r.Reasons) == 0 {
		t.Errorf("a shard's failed gate: verdict %s %v, want fail", r.Verdict, r.Reasons)
	}
	bad := checker.Report{Checks: []checker.Result{{Name: "one-winner", Violations: 1, Examples: []string{"a"}}}, Violations: 1}
	if r, _ := Merge(shards[:1], set, bad); r.Verdict != Fail {
		t.Errorf("a merged invariant violation: verdict %s, want fail", r.Verdict)
	}
}

// TestMerge_Gates_Reevaluated: the shards' gate expressions are judged
// again over the merged figures, named as written (no "shard N:" prefix).
func TestMerge_Gates_Reevaluated(t *testing.T) {
	// Merged: 4 uploads, polls 1,1,3,3 (mean 2), 3 committed, 1 conflict.
	set := &history.Set{Uploads: []history.Upload{
		mergeUpload("a", history.OutcomeCommitted, 1), mergeUpload("b", history.OutcomeCommitted, 1),
		mergeUpload("c", history.OutcomeCommitted, 3), mergeUpload("d", history.OutcomeConflict, 3)}}
	tests := []struct {
		name    string
		gates   [2][]Gate // as each shard judged them
		verdict string
		value   float64 // the merged gate's value
		reason  string  // a reason that must be given
	}{
		{name: "both shards pass, merged passes",
			gates:   [2][]Gate{{{Expr: "polls.mean <= 2", Value: 1, OK: true}}, {{Expr: "polls.mean <= 2", Value: 2, OK: true}}},
			verdict: Pass, value: 2},
		{name: "both shards pass, merged fails: a count over the whole run",
			gates:   [2][]Gate{{{Expr: "uploads.total <= 3", Value: 2, OK: true}}, {{Expr: "uploads.total <= 3", Value: 2, OK: true}}},
			verdict: Fail, value: 4, reason: `gate "uploads.total <= 3": measured 4`},
		{name: "a shard alone failed, merged passes: named in the reasons",
			gates:   [2][]Gate{{{Expr: "polls.mean <= 2.5", Value: 1, OK: true}}, {{Expr: "polls.mean <= 2.5", Value: 3}}},
			verdict: Pass, value: 2, reason: `shard 1 alone failed gate "polls.mean <= 2.5"`},
		{name: "a metric the merge cannot see: judged per shard, a shard failed",
			gates:   [2][]Gate{{{Expr: "scheduler.missed == 0", Value: 0, OK: true}}, {{Expr: "scheduler.missed == 0", Value: 5}}},
			verdict: Fail, value: 5, reason: "shard 1 failed it"},
		{name: "a metric the merge cannot see: every shard passed",
			gates:   [2][]Gate{{{Expr: "scheduler.missed == 0", Value: 0, OK: true}}, {{Expr: "scheduler.missed == 0", Value: 0, OK: true}}},
			verdict: Pass, value: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			shards := mergeShards()
			shards[0].Gates, shards[1].Gates = tt.gates[0], tt.gates[1]
			r, err := Merge(shards, set, checker.Report{})
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Gates) != 1 || r.Gates[0].Expr != tt.gates[0][0].Expr || r.Gates[0].Value != tt.value {
				t.Fatalf("gates %+v, want one %q measured %v", r.Gates, tt.gates[0][0].Expr, tt.value)
			}
			if r.Verdict != tt.verdict {
				t.Errorf("verdict %s %v, want %s", r.Verdict, r.Reasons, tt.verdict)
			}
			if tt.reason != "" && !strings.Contains(strings.Join(r.Reasons, "\n"), tt.reason) {
				t.Errorf("reasons %q lack %q", r.Reasons, tt.reason)
			}
		})
	}
}

func TestMerge_Gates_BadExprIsAnError(t *testing.T) {
	shards := mergeShards()
	shards[1].Gates = []Gate{{Expr: "polls.mean about 2"}}
	_, err := Merge(shards, &history.Set{}, checker.Report{})
	if err == nil || !strings.Contains(err.Error(), "shard 1") || !strings.Contains(err.Error(), "polls.mean about 2") {
		t.Errorf("err %v, want one naming shard 1 and the expression", err)
	}
}

// TestMerge_Gates_SaturationExcuses: a speed gate the merged run fails
// while a shard's harness was bound is inconclusive, as in a single run.
func TestMerge_Gates_SaturationExcuses(t *testing.T) {
	set := &history.Set{Uploads: []history.Upload{mergeUpload("a", history.OutcomeCommitted, 1)}}
	tests := []struct {
		name    string
		bound   bool
		verdict string
	}{
		{"no shard bound: the gate fails", false, Fail},
		{"a shard bound: the speed gate is inconclusive", true, Inconclusive},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			shards := mergeShards()
			lag := measure.Quantiles{P99: 0.01}
			if tt.bound {
				lag = measure.Quantiles{P99: 3, Max: 4}
			}
			shards[1].Harness = &Harness{Saturation: saturation(measure.Saturation{CPUs: 2, Lag: lag, TimerLateness: lag, LaunchLag: lag})}
			shards[0].Gates = []Gate{{Expr: "polls.mean < 0.5", Value: 1}}
			r, err := Merge(shards, set, checker.Report{})
			if err != nil {
				t.Fatal(err)
			}
			if r.Verdict != tt.verdict {
				t.Errorf("verdict %s %v, want %s", r.Verdict, r.Reasons, tt.verdict)
			}
			if tt.bound && !strings.Contains(strings.Join(r.Harness.Saturation.Reasons, "\n"), "shard 1: CPU") {
				t.Errorf("saturation reasons %q do not name shard 1", r.Harness.Saturation.Reasons)
			}
			// The gate names the resource, not the shard the reason came from.
			if tt.bound && (len(r.Gates) == 0 || !strings.HasPrefix(r.Gates[0].Reason, "harness-bound (CPU)")) {
				t.Errorf("gates %+v, want the polls gate excused as harness-bound (CPU)", r.Gates)
			}
		})
	}
}

// TestMerge_Harness_SumsAndMaxima: counts of work add over the shards,
// per-process peaks are the maximum.
func TestMerge_Harness_SumsAndMaxima(t *testing.T) {
	set := &history.Set{Uploads: []history.Upload{mergeUpload("a", history.OutcomeCommitted, 1), mergeUpload("b", history.OutcomeCommitted, 1)}}
	shards := mergeShards()
	shards[0].Harness = &Harness{CPUSeconds: 1.5, HistoryLines: 10, RedisCalls: 4, S3Calls: 6, MaxRSSBytes: 100, Goroutines: 7,
		CPUUtilization: 0.4, S3Ops: map[string]int64{"PUT": 6}, Delivery: delivery.Counts{Emitted: 3, Invocations: 3, Failures: 1}}
	shards[1].Harness = &Harness{CPUSeconds: 2.5, HistoryLines: 20, RedisCalls: 6, S3Calls: 4, MaxRSSBytes: 300, Goroutines: 5,
		CPUUtilization: 0.3, S3Ops: map[string]int64{"PUT": 2, "GET": 2}, Delivery: delivery.Counts{Emitted: 5, Invocations: 6, Retries: 2}}
	shards[0].Errors, shards[1].Errors = map[string]int64{"timeout": 1}, map[string]int64{"timeout": 2, "reset": 1}
	r, err := Merge(shards, set, checker.Report{})
	if err != nil {
		t.Fatal(err)
	}
	h := r.Harness
	tests := []struct {
		name      string
		got, want float64
	}{
		{"cpu_seconds (sum)", h.CPUSeconds, 4},
		{"history_lines (sum)", float64(h.HistoryLines), 30},
		{"redis_calls (sum)", float64(h.RedisCalls), 10},
		{"s3_calls (sum)", float64(h.S3Calls), 10},
		{"s3_ops PUT (sum)", float64(h.S3Ops["PUT"]), 8},
		{"s3_ops GET (sum)", float64(h.S3Ops["GET"]), 2},
		{"delivery.emitted (sum)", float64(h.Delivery.Emitted), 8},
		{"delivery.invocations (sum)", float64(h.Delivery.Invocations), 9},
		{"delivery.failures (sum)", float64(h.Delivery.Failures), 1},
		{"delivery.retries (sum)", float64(h.Delivery.Retries), 2},
		{"redis_calls_per_upload (merged)", h.RedisCallsPerUpload, 5},
		{"max_rss_bytes (max)", float64(h.MaxRSSBytes), 300},
		{"max_goroutines (max)", float64(h.Goroutines), 7},
		{"cpu_utilization (max)", h.CPUUtilization, 0.4},
		{"errors.timeout (sum)", float64(r.Errors["timeout"]), 3},
		{"errors.reset (sum)", float64(r.Errors["reset"]), 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("%s = %v, want %v", tt.name, tt.got, tt.want)
			}
		})
	}
}

func TestMerge_Rerun_NamesEveryShard(t *testing.T) {
	tests := []struct {
		name   string
		reruns []string
		want   string
	}{
		{"two shards", []string{"simrun --shard 0/2 x.yaml", "simrun --shard 1/2 x.yaml"},
			"simrun --shard 0/2 x.yaml; simrun --shard 1/2 x.yaml"},
		{"a shard without one", []string{"simrun --shard 0/2 x.yaml", ""}, "simrun --shard 0/2 x.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			shards := mergeShards()
			for i, c := range tt.reruns {
				shards[i].Rerun = c
			}
			r, err := Merge(shards, &history.Set{}, checker.Report{})
			if err != nil {
				t.Fatal(err)
			}
			if r.Rerun != tt.want {
				t.Errorf("rerun %q, want %q", r.Rerun, tt.want)
			}
		})
	}
}

func TestMerge_Polls_TotalMatchesMean(t *testing.T) {
	tests := []struct {
		name  string
		polls []int
		total int64
	}{
		{"none", nil, 0},
		{"mixed", []int{0, 1, 2, 3, 1}, 7},
		{"push only", []int{0, 0}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set := &history.Set{}
			for i, p := range tt.polls {
				set.Uploads = append(set.Uploads, mergeUpload(string(rune('a'+i)), history.OutcomeCommitted, p))
			}
			r, err := Merge(mergeShards(), set, checker.Report{})
			if err != nil {
				t.Fatal(err)
			}
			if r.Polls.Total != tt.total {
				t.Errorf("polls total %d, want %d (mean %v)", r.Polls.Total, tt.total, r.Polls.Mean)
			}
			if n := len(tt.polls); n > 0 && r.Polls.Mean*float64(n) != float64(r.Polls.Total) {
				t.Errorf("polls total %d inconsistent with mean %v over %d uploads", r.Polls.Total, r.Polls.Mean, n)
			}
		})
	}
}

func TestMerge_Throughput_MaxInFlight(t *testing.T) {
	at := func(ms int) time.Time { return mergeT0.Add(time.Duration(ms) * time.Millisecond) }
	span := func(id string, from, to int) history.Upload {
		u := mergeUpload(id, history.OutcomeCommitted, 0)
		u.Intended, u.Start, u.Staged, u.Done = at(from), at(from), at(from), at(to)
		return u
	}
	tests := []struct {
		name    string
		uploads []history.Upload
		want    int64
	}{
		{"none", nil, 0},
		{"overlapping across shards", []history.Upload{span("a", 0, 100), span("b", 50, 150), span("c", 60, 70)}, 3},
		{"one ends as the next starts", []history.Upload{span("a", 0, 100), span("b", 100, 200)}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Merge(mergeShards(), &history.Set{Uploads: tt.uploads}, checker.Report{})
			if err != nil {
				t.Fatal(err)
			}
			if r.Throughput.MaxInFlight != tt.want {
				t.Errorf("max in flight %d, want %d", r.Throughput.MaxInFlight, tt.want)
			}
		})
	}
}
