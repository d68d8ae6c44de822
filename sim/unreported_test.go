package sim_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stormsim/stormsim/report"
	"github.com/stormsim/stormsim/scenarios"
	"github.com/stormsim/stormsim/sim"
	"github.com/stormsim/stormsim/sim/history"
)

// TestRun_ReplyLost_DecisionsRecovered: scripts whose replies are lost
// (the commit ran, the handler failed not knowing it) leave no decision
// unreported: the retry finishes a decision it never reported, and the
// run reads it back from Redis, so the history has exactly one decision
// per decided upload and the run passes. Without the read-back the
// checker blamed the system (no-lost-update, agreement).
func TestRun_ReplyLost_DecisionsRecovered(t *testing.T) {
	const yaml = `
name: reply-lost
seed: 9
drain: 30s
phases: [{kind: burst, name: b, count: 120, at: 0s, duration: 1s}]
population: {users: 10, devices_per_user: 2, files_per_user: 2, hot_files: 1, hot_share: 0.5}
sizes: {kind: fixed, value: 1KiB}
coordinator: {retries: 5}
faults: [{kind: redis-reply-lost, probability: 0.2, min_injected: 5}]
gates: ["invariants.violations == 0", "uploads.error == 0"]
`
	sc, err := scenarios.Parse("reply-lost.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	res, err := sim.Run(context.Background(), sim.Options{Scenario: sc, Seed: sc.Seed, OutDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	r := report.Build(res, sc, "")
	for _, inv := range r.Invariants {
		if inv.Violations > 0 {
			t.Errorf("invariant %s: %d violation(s): %s", inv.Name, inv.Violations, inv.Detail)
		}
	}
	f, err := os.Open(filepath.Join(dir, "history.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h, err := history.Read(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Faults) == 0 || r.Faults[0].Injected < 5 {
		t.Fatalf("the fault did not act enough: %+v", r.Faults)
	}
	decided := map[string]int{}
	for _, c := range h.Commits {
		decided[c.ID]++
	}
	for _, c := range h.Conflicts {
		decided[c.ID]++
	}
	for _, u := range h.Uploads {
		if u.Outcome == history.OutcomeCommitted || u.Outcome == history.OutcomeConflict {
			if decided[u.ID] != 1 {
				t.Errorf("%s: %s, with %d decision record(s), want 1", u.ID, u.Outcome, decided[u.ID])
			}
		}
	}
}
