package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stormsim/stormsim/internal/contract"
	"github.com/stormsim/stormsim/internal/jsonschema"
	"github.com/stormsim/stormsim/report"
)

func TestPlan_ExitCodes(t *testing.T) {
	dir := t.TempDir()
	faults := filepath.Join(dir, "faults.yaml")
	if err := os.WriteFile(faults, []byte("name: f\nphases: [{kind: constant, rate: 10, duration: 1s}]\nfaults: [{kind: event-drop, start: 0s, probability: 0.5}]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want int
	}{
		{"no scenario", []string{"plan"}, exitUsage},
		{"unknown profile", []string{"plan", "--profile", "nope", "--out", filepath.Join(dir, "a"), "../../scenarios/ci.yaml"}, exitUsage},
		{"faults are not modelled", []string{"plan", "--out", filepath.Join(dir, "b"), faults}, exitUsage},
		// ci.yaml gates on invariants, which a plan cannot judge.
		{"ci is inconclusive", []string{"plan", "--quiet", "--out", filepath.Join(dir, "c"), "../../scenarios/ci.yaml"}, exitInconclusive},
		{"calibrate needs --out", []string{"calibrate"}, exitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := run(tt.args); got != tt.want {
				t.Errorf("simrun %v: exit %d, want %d", tt.args, got, tt.want)
			}
		})
	}
	r, err := report.ReadResults(filepath.Join(dir, "c", "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	if r.Mode != report.ModeModel || r.Model == nil || r.Model.Profile != "embedded" || r.Uploads.Total != 1100 {
		t.Fatalf("results: mode %q, model %+v, uploads %d", r.Mode, r.Model, r.Uploads.Total)
	}
	for _, f := range []string{"report.html", "junit.xml", "plots/plan.png", "plots/latency.png"} {
		if _, err := os.Stat(filepath.Join(dir, "c", f)); err != nil {
			t.Error(err)
		}
	}
	// A plan's results.json keeps the contract: strictly valid against the
	// generated schema.
	rs, err := contract.ResultsSchema()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "c", "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range (&jsonschema.Validator{Root: rs, Strict: true}).ValidateJSON(data) {
		t.Errorf("results.json: %v", e)
	}
}

// TestPlanValidate_CI runs the real harness and the model calibrated on
// this machine on scenarios/ci.yaml and holds the plan to
// report.PlanTolerances. On a machine busy enough to saturate the harness
// the measurement says nothing and the test skips, saying why; polls are
// not judged while the model cannot reuse the harness's auto first-poll
// estimator. The tolerances are targets not yet shown to hold (every
// measurement so far was harness-bound), so it runs only when asked:
// STORMSIM_VALIDATE=1 go test ./cmd/simrun -run TestPlanValidate_CI.
func TestPlanValidate_CI(t *testing.T) {
	if os.Getenv("STORMSIM_VALIDATE") != "1" {
		t.Skip("set STORMSIM_VALIDATE=1 to run the harness (~25 s) and hold the plan of ci.yaml to report.PlanTolerances")
	}
	dir := t.TempDir()
	var code int
	out := captureStdout(t, func() { code = run([]string{"plan", "--validate", "--out", dir, "../../scenarios/ci.yaml"}) })
	switch code {
	case exitPass:
	case exitInconclusive:
		t.Skipf("validation inconclusive (harness-bound measurement):\n%s", out)
	default:
		t.Fatalf("exit %d:\n%s", code, out)
	}
}

func captureStdout(t *testing.T, f func()) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stdout
	os.Stdout = w
	done := make(chan []byte)
	go func() {
		var b bytes.Buffer
		_, _ = b.ReadFrom(r)
		done <- b.Bytes()
	}()
	defer func() { os.Stdout = old }()
	f()
	w.Close()
	os.Stdout = old
	return string(<-done)
}

func TestSweep_Model_WritesKnee(t *testing.T) {
	dir := t.TempDir()
	if got := run([]string{"sweep", "--model", "--quiet", "--out", dir, "../../scenarios/steady.yaml", "--param", "rate=300..30000x3"}); got != exitPass {
		t.Fatalf("exit %d", got)
	}
	sw, err := report.ReadSweep(filepath.Join(dir, "sweep.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(sw.Points) != 3 || !sw.Knee.Found || sw.Points[0].Verdict != report.Pass {
		t.Fatalf("points %d, knee %+v", len(sw.Points), sw.Knee)
	}
	for _, f := range []string{"sweep.html", "plots/sweep-latency.png", "point-02/plots/plan.png"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
}
