package sim_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stormsim/stormsim/report"
	"github.com/stormsim/stormsim/scenarios"
	"github.com/stormsim/stormsim/sim"
	"github.com/stormsim/stormsim/sim/fault"
	"github.com/stormsim/stormsim/sim/history"
)

// shortFaults is scenarios/faults.yaml squeezed into a few seconds: the
// windows and the arrivals scaled by k, the lock TTL and the pause scaled
// with them (the pause stays longer than the TTL), probabilities raised so
// that every window fires in its short span, and only the correctness gates
// kept (timing under the race detector is not what this test is about).
func shortFaults(t *testing.T, k float64) *scenarios.Scenario {
	t.Helper()
	data, ok := scenarios.Builtin("faults")
	if !ok {
		t.Fatal("no built-in faults scenario")
	}
	sc, err := scenarios.Parse("faults.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	scale := func(d time.Duration) time.Duration { return time.Duration(float64(d) * k) }
	sc.Phases[0].Duration = scale(sc.Phases[0].Duration)
	sc.Phases[0].Rate = 25 // the race detector slows the harness several times
	sc.Coordinator.LockTTL = 2 * time.Second
	for i := range sc.Faults {
		f := &sc.Faults[i]
		f.Start, f.End = scale(f.Start), scale(f.End)
		switch f.Kind {
		case fault.HandlerPause:
			f.Latency = 3 * time.Second
		case fault.EventDelay:
			f.Latency = 2 * time.Second
		}
		if f.Probability < 0.5 {
			f.Probability = 0.5
		}
	}
	var gates []scenarios.Gate
	var exprs []string
	for _, g := range sc.ParsedGates {
		if strings.HasPrefix(g.Metric, "invariants.") || strings.HasPrefix(g.Metric, "uploads.") {
			gates, exprs = append(gates, g), append(exprs, g.Expr)
		}
	}
	sc.ParsedGates, sc.Gates = gates, exprs
	return sc
}

// TestRun_FaultsScenario_Shortened runs every fault kind end to end: the
// invariants hold after the drain, every window fired and is in the
// history and the report, and the hostile uploads were all rejected.
func TestRun_FaultsScenario_Shortened(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for about 15s")
	}
	sc := shortFaults(t, 0.3)
	dir := t.TempDir()
	res, err := sim.Run(context.Background(), sim.Options{Scenario: sc, Seed: sc.Seed, OutDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	r := report.Build(res, sc, "")
	t.Logf("verdict %s %v; uploads %+v; reconciled %d; delivery %+v", r.Verdict, r.Reasons, r.Uploads, r.Reconciled, res.Delivery)
	for _, c := range res.Check.Checks {
		if !c.OK {
			t.Errorf("invariant %s: %d violations %v %s", c.Name, c.Violations, c.Examples, c.Detail)
		}
	}
	// Pass, or inconclusive only because the harness itself was bound (a
	// busy machine): never a fail of the system.
	bound := r.Harness.Saturation != nil && r.Harness.Saturation.Bound
	if r.Verdict != report.Pass && (r.Verdict != report.Inconclusive || !bound) {
		t.Errorf("verdict %s (harness bound %v): %v", r.Verdict, bound, r.Reasons)
	}
	if res.DrainTimeout {
		t.Errorf("the drain timed out")
	}

	// Every kind fired, and the report has its window with figures.
	fired := map[string]int64{}
	for _, w := range r.Faults {
		fired[w.Kind] += w.Injected
		if w.During == nil || w.To < w.From {
			t.Errorf("window %+v has no figures", w)
		}
	}
	listed := map[string]bool{}
	for _, f := range sc.Faults {
		listed[f.Kind] = true
	}
	for kind := range listed {
		if fired[kind] == 0 {
			t.Errorf("fault %s never fired (windows %+v)", kind, fired)
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
	kinds := map[string]bool{}
	for _, fr := range h.Faults {
		kinds[fr.Kind] = true
		if fr.To.Before(fr.From) {
			t.Errorf("fault record %+v ends before it starts", fr)
		}
	}
	if len(kinds) != len(listed) {
		t.Errorf("fault records for %d kinds, want %d: %v", len(kinds), len(listed), kinds)
	}
	checkHostileRejected(t, h, r.Uploads.Rejected)
}

// checkHostileRejected: every rejected upload has a reason and no commit or
// conflict, and the summary counts them.
func checkHostileRejected(t *testing.T, h *history.Set, summary int64) {
	t.Helper()
	decided := map[string]bool{}
	for _, c := range h.Commits {
		decided[c.ID] = true
	}
	for _, c := range h.Conflicts {
		decided[c.ID] = true
	}
	var rejected int64
	for _, u := range h.Uploads {
		if u.Outcome != history.OutcomeRejected {
			continue
		}
		rejected++
		if u.Reason == "" {
			t.Errorf("%s: rejected without a reason", u.ID)
		}
		if decided[u.ID] {
			t.Errorf("%s: rejected and also committed or conflicted", u.ID)
		}
	}
	if rejected == 0 || rejected != summary {
		t.Errorf("%d rejected uploads in the history, %d in the summary", rejected, summary)
	}
}

// Every hostile variant is rejected for its own reason and counted.
func TestRun_HostileUploads_RejectedWithReasons(t *testing.T) {
	const yaml = `
name: hostile
seed: 3
drain: 20s
phases: [{kind: constant, rate: 60, duration: 1s}]
population: {users: 10, devices_per_user: 2, files_per_user: 3}
sizes: {kind: fixed, value: 2KiB}
faults: [{kind: hostile-upload, start: 0s}]
`
	sc, err := scenarios.Parse("hostile.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	res, err := sim.Run(context.Background(), sim.Options{Scenario: sc, Seed: sc.Seed, OutDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	r := report.Build(res, sc, "")
	if r.Uploads.Rejected != r.Uploads.Total || r.Uploads.Total != res.Planned {
		t.Errorf("uploads %+v, planned %d: want every one rejected", r.Uploads, res.Planned)
	}
	if !res.Check.OK() {
		t.Errorf("invariants: %+v", res.Check)
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
	checkHostileRejected(t, h, r.Uploads.Rejected)
	if len(h.Commits)+len(h.Conflicts)+len(h.Finals) != 0 {
		t.Errorf("%d commits, %d conflicts, %d files: hostile input reached the final prefix", len(h.Commits), len(h.Conflicts), len(h.Finals))
	}
	reasons := []string{"not clean", "absolute", "control character", "more than 1024", "metadata entries",
		`missing metadata "base"`, "does not match staging key user", "does not match declared"}
	for _, want := range reasons {
		if !slices.ContainsFunc(h.Rejects, func(rj history.Reject) bool { return strings.Contains(rj.Reason, want) }) {
			t.Errorf("no rejection for %q", want)
		}
	}
}

// An interrupted run still leaves a valid results.json and a readable
// history.jsonl.
func TestRun_Interrupted_PartialFilesParse(t *testing.T) {
	const yaml = `
name: long
seed: 5
drain: 30s
phases: [{kind: constant, rate: 100, duration: 60s}]
population: {users: 50, devices_per_user: 2, files_per_user: 4, hot_files: 1, hot_share: 0.3}
sizes: {kind: fixed, value: 1KiB}
faults: [{kind: event-delay, start: 0s, probability: 0.3, latency: 2s}]
gates: ["invariants.violations == 0"]
`
	sc, err := scenarios.Parse("long.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	dir := t.TempDir()
	res, err := sim.Run(ctx, sim.Options{Scenario: sc, Seed: sc.Seed, OutDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Interrupted {
		t.Fatal("the run was not marked interrupted")
	}
	r := report.Build(res, sc, "")
	if err := report.WriteAll(dir, r, res.Gatherer); err != nil {
		t.Fatal(err)
	}
	back, err := report.ReadResults(filepath.Join(dir, "results.json"))
	if err != nil {
		t.Fatalf("results.json: %v", err)
	}
	// Inconclusive, not fail: the uploads the stop cut off are the
	// harness's doing, and nothing else went wrong.
	if !back.Partial || back.Verdict != report.Inconclusive || back.Uploads.Total == 0 || back.Uploads.Total >= res.Planned {
		t.Errorf("partial results: partial=%v verdict=%s uploads %d of %d planned", back.Partial, back.Verdict, back.Uploads.Total, res.Planned)
	}
	f, err := os.Open(filepath.Join(dir, "history.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h, err := history.Read(f)
	if err != nil {
		t.Fatalf("history.jsonl: %v", err)
	}
	if len(h.Stops) != 1 || h.Stops[0].Reason != history.StopInterrupted {
		t.Errorf("stop records %+v, want one %q", h.Stops, history.StopInterrupted)
	}
	if int64(len(h.Uploads)) != back.Uploads.Total {
		t.Errorf("%d upload records, results.json counts %d", len(h.Uploads), back.Uploads.Total)
	}
	if len(h.Faults) != 1 || len(back.Faults) != 1 {
		t.Errorf("fault window: %d history records, %d in results.json; want the cut-short window in both", len(h.Faults), len(back.Faults))
	}
}

// Every fault kind is exercised by a shipped scenario that CI runs:
// faults.yaml, or one of the adversarial scenarios (the lock-expiry and
// fence-rollback kinds live there: a fence rollback switches off the
// fencing judgement, so faults.yaml does not carry it).
func TestFaultKinds_EachInAShippedScenario(t *testing.T) {
	files, err := filepath.Glob("../scenarios/adversarial*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no adversarial scenarios: %v", err)
	}
	seen := map[string]string{}
	for _, name := range append(files, "../scenarios/faults.yaml", "../scenarios/billing.yaml") {
		sc, err := scenarios.Load(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range sc.Faults {
			seen[f.Kind] = name
		}
	}
	for kind := range scenarios.FaultKinds {
		if seen[kind] == "" {
			t.Errorf("fault kind %s is in no shipped scenario CI runs", kind)
		}
	}
}
