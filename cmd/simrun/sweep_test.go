package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stormsim/stormsim/report"
)

func TestDemandDirection(t *testing.T) {
	for _, tt := range []struct {
		flag, path string
		want       bool
	}{
		{"auto", "rate", true}, {"auto", "population.hot_share", true}, {"auto", "coordinator.concurrency", false},
		{"up", "coordinator.concurrency", true}, {"down", "rate", false},
	} {
		if got, err := demandDirection(tt.flag, tt.path); err != nil || got != tt.want {
			t.Errorf("--demand %s for %s: %v, %v; want %v", tt.flag, tt.path, got, err, tt.want)
		}
	}
	if _, err := demandDirection("sideways", "rate"); err == nil || !strings.Contains(err.Error(), "--demand") {
		t.Errorf("bad --demand: %v", err)
	}
}

// tinySweep is a scenario of one second per phase: two points take a few
// seconds each, draining and checking included.
const tinySweep = `name: tiny-sweep
seed: 11
drain: 10s
phases:
  - {kind: constant, rate: 20, duration: 1s}
population: {users: 10, devices_per_user: 2, files_per_user: 4, hot_files: 1, hot_share: 0.5}
sizes: {kind: fixed, value: 512}
coordinator: {concurrency: 8}
gates: ["invariants.violations == 0", "uploads.unknown == 0"]
`

func writeTemp(t *testing.T, name, data string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestSweepCmd_Usage(t *testing.T) {
	sc := writeTemp(t, "tiny.yaml", tinySweep)
	prices := writeTemp(t, "prices.yaml", "lambda:\n  memory_mb: 64\n")
	out := filepath.Join(t.TempDir(), "never")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no scenario", []string{"--param", "rate=1..2"}, "want exactly one scenario file"},
		{"no --param", []string{sc}, "--param is required"},
		{"bad --param", []string{sc, "--param", "rate=x..2"}, `--param "rate=x..2": FROM "x": not a number`},
		{"invalid value", []string{sc, "--param", "population.hot_share=0..2x3"}, "population.hot_share: must be"},
		{"bad price file", []string{sc, "--param", "rate=10..20x2", "--prices", prices}, "prices.yaml:2: lambda.memory_mb: must be within 128..10240"},
		{"missing price file", []string{sc, "--param", "rate=10..20x2", "--prices", prices + ".none"}, "--prices: load prices"},
		{"bad --demand", []string{sc, "--param", "rate=10..20x2", "--demand", "left"}, `--demand "left"`},
		{"bad --seed", []string{sc, "--param", "rate=10..20x2", "--seed", "-1"}, `--seed "-1"`},
		{"scheduler-only scenario", []string{"../../scenarios/scheduler-day.yaml", "--param", "scheduler.days=1..2"}, "no upload phases"},
		{"missing scenario", []string{"nope.yaml", "--param", "rate=1..2"}, "load scenario"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"--quiet", "--out", out}, tt.args...)
			err := sweepCmd(args)
			var ue usageError
			if !errors.As(err, &ue) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err %v, want a usage error containing %q", err, tt.want)
			}
			if got := exitCode(err); got != exitUsage {
				t.Errorf("exit %d, want %d", got, exitUsage)
			}
			if _, err := os.Stat(out); err == nil {
				t.Error("the output folder was created before the arguments were checked")
			}
		})
	}
}

func TestSweepCmd_EndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two short scenarios")
	}
	sc := writeTemp(t, "tiny.yaml", tinySweep)
	out := filepath.Join(t.TempDir(), "sweep")
	prices := writeTemp(t, "prices.yaml", "as_of: 2027-02-01\nlambda:\n  memory_mb: 1024\n")
	if got := run([]string{"sweep", "--quiet", "--out", out, "--seed", "5", "--prices", prices, sc, "--param", "rate=20..40x2"}); got != exitPass {
		t.Fatalf("exit %d, want %d", got, exitPass)
	}
	s, err := report.ReadSweep(filepath.Join(out, "sweep.json"))
	if err != nil {
		t.Fatal(err)
	}
	if s.Scenario != "tiny-sweep" || s.Param != "rate" || s.Values != "20..40x2" || s.Seed != 5 || !s.DemandRises ||
		s.XAxis != "offered_rate" || s.Interrupted || s.PricesAsOf != "2027-02-01" || !strings.Contains(s.Rerun, "--param rate=20..40x2") {
		t.Errorf("sweep.json header: %+v", s)
	}
	if len(s.Points) != 2 {
		t.Fatalf("%d points, want 2", len(s.Points))
	}
	for i, p := range s.Points {
		want := []float64{20, 40}[i]
		if p.Index != i || p.Value != want || p.OfferedRate != want || p.Dir != []string{"point-00", "point-01"}[i] || p.Error != "" {
			t.Errorf("point %d: %+v", i, p)
		}
		if p.Uploads != int64(want) || p.AchievedRate <= 0 || p.LatencyP99 <= 0 || p.CostPer1000 <= 0 || p.Verdict == "" {
			t.Errorf("point %d figures: %+v", i, p)
		}
		for _, f := range []string{"results.json", "history.jsonl", "metrics.prom", "report.html", "junit.xml", "plots/latency.png"} {
			if _, err := os.Stat(filepath.Join(out, p.Dir, f)); err != nil {
				t.Errorf("point %d: %v", i, err)
			}
		}
		r, err := report.ReadResults(filepath.Join(out, p.Dir, "results.json"))
		if err != nil {
			t.Fatal(err)
		}
		if r.Cost == nil || r.Cost.PricesSource != prices || r.Cost.Per1000 != p.CostPer1000 || r.Verdict != p.Verdict {
			t.Errorf("point %d results.json cost %+v, verdict %s", i, r.Cost, r.Verdict)
		}
		if !strings.Contains(r.Rerun, "--param rate=") {
			t.Errorf("point %d rerun %q does not reproduce the point", i, r.Rerun)
		}
	}
	if k := s.Knee; k.Text == "" || k.Found && k.Index < 0 {
		t.Errorf("knee %+v", k)
	}
	for _, f := range []string{"sweep.html", "plots/sweep-throughput.png", "plots/sweep-latency.svg", "plots/sweep-polls.png",
		"plots/sweep-conflicts.png", "plots/sweep-cost.png"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
}
