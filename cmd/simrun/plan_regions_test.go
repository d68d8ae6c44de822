package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stormsim/stormsim/internal/contract"
	"github.com/stormsim/stormsim/internal/jsonschema"
	"github.com/stormsim/stormsim/report"
)

// A plan of scenarios/regions.yaml writes a run's regions figures in
// model mode: lag per pair with its chart, where users and bytes live,
// the inter-region transfer in the cost. Its invariants gate is
// inconclusive in a plan (exit 3), the regions.* gates are judged.
func TestPlanCmd_Regions(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "plan")
	if got := run([]string{"plan", "--quiet", "--out", dir, "../../scenarios/regions.yaml"}); got != exitInconclusive {
		t.Fatalf("exit %d, want %d (regions.yaml gates on invariants, which a plan cannot judge)", got, exitInconclusive)
	}
	r, err := report.ReadResults(filepath.Join(dir, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	g := r.Regions
	if r.Mode != report.ModeModel || g == nil || len(g.Regions) != 3 || len(g.Lag) != 6 || g.ReplicationBytes == 0 || g.UploadCrossBytes == 0 {
		t.Fatalf("mode %q, regions %+v", r.Mode, g)
	}
	if r.Cost == nil || r.Cost.Items["inter_region_transfer"] <= 0 {
		t.Errorf("cost %+v: no inter-region transfer", r.Cost)
	}
	judged := 0
	for _, gate := range r.Gates {
		switch {
		case strings.HasPrefix(gate.Expr, "invariants."):
			if !gate.Inconclusive {
				t.Errorf("gate %q judged in a plan", gate.Expr)
			}
		case strings.HasPrefix(gate.Expr, "regions."):
			judged++
			if gate.Inconclusive || !gate.OK {
				t.Errorf("gate %q: %+v", gate.Expr, gate)
			}
		}
	}
	if judged != 2 {
		t.Errorf("%d regions gates judged, want 2", judged)
	}
	for _, f := range []string{"report.html", "plots/plan.png", "plots/lag-eu-west-to-us-east.png", "plots/lag-ap-south-to-eu-west.png"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
	rs, err := contract.ResultsSchema()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range (&jsonschema.Validator{Root: rs, Strict: true}).ValidateJSON(data) {
		t.Errorf("results.json: %v", e)
	}
}

// Bad input to plan, plan --validate, sweep --model and calibrate exits
// 2 before anything runs, naming the file, line and field where there is
// a file.
func TestPlanCmd_BadInput_ExitUsage(t *testing.T) {
	tmp := t.TempDir()
	badProfile := writeTemp(t, "bad-profile.yaml", "name: x\nhandler: {kind: queue}\nredis: {shards: 1}\nbogus: 1\n")
	wrongType := writeTemp(t, "wrong-type.yaml", "name: x\nhandler: {kind: queue}\nredis: {shards: many}\n")
	badValue := writeTemp(t, "bad-value.yaml", "name: x\nhandler: {kind: queue}\nredis: {shards: 0}\n")
	scenarioProfile := writeTemp(t, "named.yaml", "name: named\nphases: [{kind: constant, rate: 10, duration: 1s}]\nplan: {profile: "+badProfile+"}\n")
	out := filepath.Join(tmp, "never")
	for _, tt := range []struct {
		name string
		cmd  func([]string) error
		args []string
		want string
	}{
		{"plan: unknown field", planCmd, []string{"--profile", badProfile, "../../scenarios/ci.yaml"}, badProfile + ":4: bogus: unknown field"},
		{"plan: wrong type", planCmd, []string{"--profile", wrongType, "../../scenarios/ci.yaml"}, wrongType + `:3: redis.shards: must be an integer, got "many"`},
		{"plan: bad value", planCmd, []string{"--profile", badValue, "../../scenarios/ci.yaml"}, badValue + ":3: redis.shards: must be >= 1, got 0"},
		{"plan: the scenario's profile", planCmd, []string{scenarioProfile}, badProfile + ":4: bogus: unknown field"},
		{"plan --validate: the scenario's profile", planCmd, []string{"--validate", scenarioProfile}, badProfile + ":4: bogus: unknown field"},
		{"plan --validate --profile", planCmd, []string{"--validate", "--profile", "embedded", "../../scenarios/ci.yaml"}, "--profile does not apply with --validate"},
		{"plan: --pod-cpu without --generator-cost", planCmd, []string{"--pod-cpu", "4", "../../scenarios/ci.yaml"}, "--pod-cpu needs --generator-cost"},
		{"plan --validate --json", planCmd, []string{"--validate", "--json", "../../scenarios/ci.yaml"}, "--json does not apply with --validate"},
		{"plan: regional outages", planCmd, []string{"../../scenarios/regions-faults.yaml"}, "regions.faults[0].kind region-partition"},
		{"sweep --model: unknown field", sweepCmd, []string{"--model", "--profile", badProfile, "../../scenarios/steady.yaml", "--param", "rate=10..20x2"}, badProfile + ":4: bogus: unknown field"},
		{"sweep --model: bad value", sweepCmd, []string{"--model", "--profile", badValue, "../../scenarios/steady.yaml", "--param", "rate=10..20x2"}, badValue + ":3: redis.shards"},
		{"sweep --model: outages", sweepCmd, []string{"--model", "../../scenarios/regions-faults.yaml", "--param", "rate=10..20x2"}, "region-partition"},
		{"sweep: --profile without --model", sweepCmd, []string{"--profile", "embedded", "../../scenarios/steady.yaml", "--param", "rate=10..20x2"}, "--profile needs --model"},
		{"sweep: regions without --model", sweepCmd, []string{"../../scenarios/regions.yaml", "--param", "rate=10..20x2"}, "plan it with --model"},
		{"sweep: --max-inflight 0", sweepCmd, []string{"--max-inflight", "0", "../../scenarios/steady.yaml", "--param", "rate=10..20x2"}, "--max-inflight 0: must be > 0"},
		{"sweep: --check-timeout negative", sweepCmd, []string{"--check-timeout", "-1s", "../../scenarios/steady.yaml", "--param", "rate=10..20x2"}, "--check-timeout -1s: must be > 0"},
		{"sweep --model: --max-inflight", sweepCmd, []string{"--model", "--max-inflight", "10", "../../scenarios/steady.yaml", "--param", "rate=10..20x2"}, "--max-inflight does not apply with --model"},
		{"calibrate: --out folder missing", calibrateCmd, []string{"--out", filepath.Join(badProfile, "sub", "p.yaml")}, "--out"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			args := tt.args
			if !strings.HasPrefix(tt.name, "calibrate") { // calibrate has no --quiet, and --out is its file
				args = append([]string{"--quiet", "--out", out}, args...)
			}
			err := tt.cmd(args)
			var ue usageError
			if !errors.As(err, &ue) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err %v, want a usage error containing %q", err, tt.want)
			}
			if got := exitCode(err); got != exitUsage {
				t.Errorf("exit %d, want %d", got, exitUsage)
			}
			if _, err := os.Stat(out); err == nil {
				t.Error("the output folder was created before the input was checked")
			}
		})
	}
}

// A sweep of a regions scenario plans each point with its regions.
func TestSweep_Model_Regions(t *testing.T) {
	dir := t.TempDir()
	if got := run([]string{"sweep", "--model", "--quiet", "--out", dir, "../../scenarios/regions.yaml", "--param", "rate=10..40x2"}); got != exitPass {
		t.Fatalf("exit %d", got)
	}
	for _, p := range []string{"point-00", "point-01"} {
		r, err := report.ReadResults(filepath.Join(dir, p, "results.json"))
		if err != nil {
			t.Fatal(err)
		}
		if r.Regions == nil || len(r.Regions.Lag) != 6 {
			t.Errorf("%s: regions %+v", p, r.Regions)
		}
	}
}
