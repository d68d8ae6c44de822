package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stormsim/stormsim/report"
	"github.com/stormsim/stormsim/report/killmatrix"
	"github.com/stormsim/stormsim/sim/selftest"
)

// The whole self-test: every mutant caught, the real system passing. On a
// busy machine a run the harness could not judge (it was bound: see
// harness.saturation) makes the self-test inconclusive, never a pass and
// never a failure; everything it could judge must still hold.
func TestRun_Selftest_Passes(t *testing.T) {
	if testing.Short() {
		t.Skip("the self-test takes a few minutes")
	}
	out := t.TempDir()
	got := run([]string{"selftest", "--quiet", "--out", out})
	if got != exitPass && got != exitInconclusive {
		// Say which run let it down: a flaky catch and a failing real
		// system need different fixes.
		for i, c := range selftest.Cases() {
			r, err := report.ReadResults(filepath.Join(out, killmatrix.RunDirName(i, c), "results.json"))
			if err != nil {
				t.Logf("%s on %s: %v", c.Name, c.Scenario, err)
				continue
			}
			t.Logf("%s on %s: %s %v; %+v", c.Name, c.Scenario, r.Verdict, r.Reasons, killmatrix.RowOf(c, r, 0))
		}
		t.Fatalf("simrun selftest: exit %d, want %d (or %d when harness-bound)", got, exitPass, exitInconclusive)
	}
	// Each mutant's documented catches hold: the claims are the proof that
	// the gates can fail. A row the harness could not judge must say why.
	for i, c := range selftest.Cases() {
		dir := filepath.Join(out, killmatrix.RunDirName(i, c))
		r, err := report.ReadResults(filepath.Join(dir, "results.json"))
		if err != nil {
			t.Fatal(err)
		}
		row := killmatrix.RowOf(c, r, 0)
		if row.Status == "inconclusive" {
			if r.Harness.Saturation == nil || !r.Harness.Saturation.Bound {
				t.Errorf("%s on %s: inconclusive but the harness was not bound: %v", c.Name, c.Scenario, r.Reasons)
			}
			continue
		}
		if !c.Mutant() {
			continue
		}
		if row.Status != "caught" || len(row.Missed) > 0 {
			t.Errorf("%s: status %s, caught by %v, missed claims %v", c.Name, row.Status, row.CaughtBy, row.Missed)
		}
	}
}

// abort_on_fail end to end: the run stops at the failed gate, exits 1, and
// results.json says why.
func TestRun_AbortOnFail_Exit(t *testing.T) {
	dir := t.TempDir()
	sc := filepath.Join(dir, "abort.yaml")
	if err := os.WriteFile(sc, []byte(`name: abort
seed: 5
drain: 10s
abort_on_fail: true
phases:
  - {kind: constant, rate: 50, duration: 20s}
population: {users: 50, files_per_user: 4}
sizes: {kind: fixed, value: 1KiB}
gates: ["uploads.committed <= 20"]
`), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "run")
	if got := run([]string{"--quiet", "--out", out, sc}); got != exitFail {
		t.Fatalf("exit %d, want %d", got, exitFail)
	}
	r, err := report.ReadResults(filepath.Join(out, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	if r.Verdict != report.Fail || len(r.Reasons) == 0 || !strings.HasPrefix(r.Reasons[0], `aborted: gate "uploads.committed <= 20" failed at`) {
		t.Errorf("verdict %s reasons %q", r.Verdict, r.Reasons)
	}
	if r.DurationSeconds > 12 {
		t.Errorf("the aborted run took %.1fs", r.DurationSeconds)
	}
}
