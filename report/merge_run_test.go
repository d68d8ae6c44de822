package report

import (
	"context"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/stormsim/stormsim/scenarios"
	"github.com/stormsim/stormsim/sim"
	"github.com/stormsim/stormsim/sim/checker"
	"github.com/stormsim/stormsim/sim/history"
	"github.com/stormsim/stormsim/sim/traffic"
)

// mergeRunScenario is small. Which of two overlapping uploads of a file
// wins depends on timing; how many uploads there are, their sizes and
// that each is decided do not.
const mergeRunScenario = `
name: merge-run
seed: 11
drain: 20s
phases:
  - {kind: burst, count: 60, at: 0s, duration: 300ms}
  - {kind: constant, rate: 60, duration: 1s}
population: {users: 12, devices_per_user: 1, files_per_user: 3, hot_files: 1, hot_share: 0.5}
sizes: {kind: lognormal, median: 2KiB, sigma: 1, cap: 64KiB}
gates: ["invariants.violations == 0", "uploads.unknown == 0", "polls.mean <= 100"]
`

// runShard runs the scenario as shard sh (N 0: one process) and returns
// its results and its history.
func runShard(t *testing.T, sc *scenarios.Scenario, sh traffic.Shard) (*Results, *history.Set) {
	t.Helper()
	dir := t.TempDir()
	res, err := sim.Run(context.Background(), sim.Options{Scenario: sc, Seed: sc.Seed, OutDir: dir, Shard: sh})
	if err != nil {
		t.Fatal(err)
	}
	set, err := history.ReadFiles(filepath.Join(dir, "history.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	return Build(res, sc, "simrun --shard x"), set
}

// measuredFigures are the parts of Results the recorder measures.
type measuredFigures struct {
	Uploads    Uploads
	Polls      Polls
	Latency    Latency
	Phases     PhaseLatency
	Series     []Sample
	MaxFlight  int64
	Invariants []Invariant
}

func figures(r *Results) measuredFigures {
	return measuredFigures{r.Uploads, r.Polls, r.Latency, r.Phases, r.Series, r.Throughput.MaxInFlight, r.Invariants}
}

// TestMerge_Replay_SameAsLiveRun: a run's own history, merged as a single
// shard, gives exactly the figures the run recorded live: the merge
// replays it through the same recorder.
func TestMerge_Replay_SameAsLiveRun(t *testing.T) {
	sc, err := scenarios.Parse("merge-run.yaml", []byte(mergeRunScenario))
	if err != nil {
		t.Fatal(err)
	}
	live, set := runShard(t, sc, traffic.Shard{})
	merged, err := Merge([]*Results{live}, set, checker.Check(set, checker.Options{Fencing: true}))
	if err != nil {
		t.Fatal(err)
	}
	got, want := figures(merged), figures(live)
	// In flight is the one figure that is not the recorded instants': the
	// live recorder counts starts and ends in the order the devices report
	// them, and a device descheduled between reading the clock and
	// reporting (a loaded machine) reports late. The replay counts in the
	// order of the instants.
	for _, f := range []*measuredFigures{&got, &want} {
		f.MaxFlight = 0
		for i := range f.Series {
			f.Series[i].InFlight = 0
		}
	}
	for _, tt := range []struct {
		name         string
		replay, live any
	}{
		{"uploads", got.Uploads, want.Uploads},
		{"polls", got.Polls, want.Polls},
		{"latency", got.Latency, want.Latency},
		{"phases", got.Phases, want.Phases},
		{"series", got.Series, want.Series},
		{"invariants", got.Invariants, want.Invariants},
	} {
		if !reflect.DeepEqual(tt.replay, tt.live) {
			t.Errorf("%s: replayed history differs from the live run:\nreplay %+v\nlive   %+v", tt.name, tt.replay, tt.live)
		}
	}
	if merged.Throughput.MaxInFlight == 0 || merged.Throughput.MaxInFlight > merged.Uploads.Total {
		t.Errorf("replayed max in flight %d of %d uploads", merged.Throughput.MaxInFlight, merged.Uploads.Total)
	}
	if merged.Verdict != live.Verdict || len(merged.Gates) != len(live.Gates) {
		t.Errorf("merged verdict %s gates %+v, live %s %+v", merged.Verdict, merged.Gates, live.Verdict, live.Gates)
	}
}

// TestMerge_Shards_SameAsOneProcess: a run sharded over two processes and
// merged agrees with the same seed run in one process on everything that
// does not depend on timing, and its series carry started, planned and in
// flight as a single run's do.
func TestMerge_Shards_SameAsOneProcess(t *testing.T) {
	sc, err := scenarios.Parse("merge-run.yaml", []byte(mergeRunScenario))
	if err != nil {
		t.Fatal(err)
	}
	one, _ := runShard(t, sc, traffic.Shard{})
	s0, h0 := runShard(t, sc, traffic.Shard{I: 0, N: 2})
	s1, h1 := runShard(t, sc, traffic.Shard{I: 1, N: 2})
	h0.Merge(h1)
	merged, err := Merge([]*Results{s0, s1}, h0, checker.Check(h0, checker.Options{Fencing: true}))
	if err != nil {
		t.Fatal(err)
	}
	type totals struct{ started, planned, decided, errors, latencyN int64 }
	sum := func(r *Results) (t totals) {
		for _, s := range r.Series {
			t.started += s.Started
			t.planned += s.Planned
			t.decided += s.Committed + s.Conflict
			t.errors += s.Errors
		}
		t.latencyN = r.Latency.Count
		return t
	}
	type counts struct{ total, decided, rejected, errors, multipart, bytes, pending int64 }
	uploads := func(r *Results) counts {
		u := r.Uploads
		return counts{u.Total, u.Committed + u.Conflict, u.Rejected, u.Error + u.Unknown, u.Multipart, u.Bytes, u.Pending}
	}
	pollN := func(r *Results) (n int64) {
		for _, c := range r.Polls.Counts {
			n += c
		}
		return n
	}
	tests := []struct {
		name      string
		got, want any
	}{
		{"uploads", uploads(merged), uploads(one)},
		{"series totals", sum(merged), sum(one)},
		{"uploads with a polls count", pollN(merged), pollN(one)},
		{"phases counted", [4]int64{merged.Phases.Queue.Count, merged.Phases.Upload.Count, merged.Phases.Decision.Count, merged.Phases.Notify.Count},
			[4]int64{one.Phases.Queue.Count, one.Phases.Upload.Count, one.Phases.Decision.Count, one.Phases.Notify.Count}},
		{"verdict", merged.Verdict, one.Verdict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !reflect.DeepEqual(tt.got, tt.want) {
				t.Errorf("merged %+v, one process %+v", tt.got, tt.want)
			}
		})
	}
	if one.Uploads.Committed == 0 || one.Uploads.Total != 120 {
		t.Errorf("one process: %+v, want 120 uploads with commits", one.Uploads)
	}
	var inFlight int64
	for _, s := range merged.Series {
		inFlight = max(inFlight, s.InFlight)
	}
	if merged.Polls.Total == 0 || merged.Throughput.MaxInFlight == 0 || inFlight == 0 {
		t.Errorf("merged polls total %d, max in flight %d, series in flight %d: want all measured",
			merged.Polls.Total, merged.Throughput.MaxInFlight, inFlight)
	}
}
