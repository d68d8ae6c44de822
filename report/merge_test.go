package report

import (
	"testing"
	"time"

	"github.com/stormsim/stormsim/sim/checker"
	"github.com/stormsim/stormsim/sim/history"
)

func TestMerge_ShardsSumAndGatesCarryOver(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	up := func(id string, outcome history.Outcome, polls int) history.Upload {
		return history.Upload{T: history.KindUpload, ID: id, Outcome: outcome, Polls: polls, Size: 10,
			Intended: t0, Start: t0, Staged: t0.Add(10 * time.Millisecond), Done: t0.Add(100 * time.Millisecond)}
	}
	set := &history.Set{Uploads: []history.Upload{up("a", history.OutcomeCommitted, 1), up("b", history.OutcomeConflict, 0)}}
	shards := []*Results{
		{Scenario: "s", Started: t0, DurationSeconds: 2, Throughput: Throughput{PlannedRate: 50, AchievedRate: 50}},
		{Scenario: "s", Started: t0, DurationSeconds: 3, Throughput: Throughput{PlannedRate: 50, AchievedRate: 49}},
	}
	r := Merge(shards, set, checker.Report{})
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
	if r := Merge(shards, set, checker.Report{}); r.Verdict != Fail || len(r.Reasons) == 0 {
		t.Errorf("a shard's failed gate: verdict %s %v, want fail", r.Verdict, r.Reasons)
	}
	bad := checker.Report{Checks: []checker.Result{{Name: "one-winner", Violations: 1, Examples: []string{"a"}}}, Violations: 1}
	if r := Merge(shards[:1], set, bad); r.Verdict != Fail {
		t.Errorf("a merged invariant violation: verdict %s, want fail", r.Verdict)
	}
}
