package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stormsim/stormsim/report"
)

func TestRunCmd_Repeat_Usage(t *testing.T) {
	sc := writeTemp(t, "tiny.yaml", tinySweep)
	tests := []struct {
		name string
		args []string
	}{
		{"zero", []string{"--repeat", "0", sc}},
		{"too many", []string{"--repeat", "101", sc}},
		{"with a shard", []string{"--repeat", "3", "--shard", "0/2", sc}},
		{"with real servers", []string{"--repeat", "3", "--redis", "redis://127.0.0.1:1", sc}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			if got := run(append([]string{"--quiet", "--out", out}, tt.args...)); got != exitUsage {
				t.Fatalf("exit %d, want %d", got, exitUsage)
			}
			if _, err := os.Stat(out); err == nil {
				t.Error("the output folder was created before the arguments were checked")
			}
		})
	}
}

// TestRunCmd_Repeat_Intervals runs a tiny scenario three times: every run
// keeps its folder, the set's results.json holds each metric's interval,
// a gate every run passes passes, one every run fails fails (exit 1).
func TestRunCmd_Repeat_Intervals(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a short scenario three times")
	}
	sc := writeTemp(t, "tiny.yaml", strings.Replace(tinySweep, `"uploads.unknown == 0"]`, `"uploads.unknown == 0", "uploads.committed > 1000"]`, 1))
	out := filepath.Join(t.TempDir(), "set")
	if got := run([]string{"--quiet", "--out", out, "--repeat", "3", sc}); got != exitFail {
		t.Fatalf("exit %d, want %d (a gate no run can pass)", got, exitFail)
	}
	r, err := report.ReadResults(filepath.Join(out, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	if r.Repeat == nil || r.Repeat.N != 3 || len(r.Repeat.Runs) != 3 {
		t.Fatalf("repeat section %+v", r.Repeat)
	}
	for _, name := range []string{"latency.p99", "polls.mean", "uploads.total", "invariants.violations"} {
		iv, ok := r.Repeat.Metrics[name]
		if !ok || len(iv.Values) != 3 || iv.CILow > iv.Median || iv.Median > iv.CIHigh || iv.Min != iv.CILow || iv.Max != iv.CIHigh ||
			iv.Confidence != 0.75 {
			t.Errorf("%s: %+v", name, iv)
		}
	}
	if iv := r.Repeat.Metrics["uploads.total"]; iv.Median != 20 {
		t.Errorf("uploads.total median %v, want the 20 planned", iv.Median)
	}
	if len(r.Gates) != 3 || !r.Gates[0].OK || !r.Gates[1].OK || r.Gates[2].OK || r.Gates[2].Inconclusive || r.Gates[2].Interval == nil {
		t.Errorf("gates %+v", r.Gates)
	}
	if r.Verdict != report.Fail || !strings.Contains(strings.Join(r.Reasons, "\n"), "the whole interval fails") {
		t.Errorf("verdict %s %q", r.Verdict, r.Reasons)
	}
	if !strings.Contains(r.Rerun, "--repeat 3") {
		t.Errorf("set rerun %q does not repeat", r.Rerun)
	}
	for i, run := range r.Repeat.Runs {
		if run.Dir != []string{"run-1", "run-2", "run-3"}[i] || run.Verdict != report.Fail {
			t.Errorf("run %d: %+v", i, run)
		}
		rr, err := report.ReadResults(filepath.Join(out, run.Dir, "results.json"))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(rr.Rerun, "--repeat") || rr.Seed != r.Seed || rr.WorkloadHash != r.WorkloadHash {
			t.Errorf("run %d: rerun %q seed %d hash %s", i, rr.Rerun, rr.Seed, rr.WorkloadHash)
		}
		if _, err := os.Stat(filepath.Join(out, run.Dir, "history.jsonl")); err != nil {
			t.Error(err)
		}
	}
	for _, f := range []string{"report.html", "junit.xml", "plots/repeat.png", "plots/repeat.svg"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
}

// TestSweepCmd_Repeat_Intervals: a one-point sweep run twice gives the
// point its interval, keeps both runs and draws the charts.
func TestSweepCmd_Repeat_Intervals(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a short scenario twice")
	}
	sc := writeTemp(t, "tiny.yaml", tinySweep)
	out := filepath.Join(t.TempDir(), "sweep")
	if got := run([]string{"sweep", "--quiet", "--out", out, "--repeat", "2", sc, "--param", "rate=20"}); got != exitPass {
		t.Fatalf("exit %d, want %d", got, exitPass)
	}
	s, err := report.ReadSweep(filepath.Join(out, "sweep.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Points) != 1 || !strings.Contains(s.Rerun, "--repeat 2") {
		t.Fatalf("points %d, rerun %q", len(s.Points), s.Rerun)
	}
	p := s.Points[0]
	iv, ok := p.Intervals["latency.p99"]
	if p.Runs != 2 || !ok || len(iv.Values) != 2 || iv.Median != p.LatencyP99 || iv.CILow > iv.CIHigh {
		t.Errorf("point %+v", p)
	}
	r, err := report.ReadResults(filepath.Join(out, p.Dir, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	if r.Repeat == nil || r.Repeat.N != 2 || r.Verdict != p.Verdict {
		t.Errorf("point set %+v, verdict %s", r.Repeat, r.Verdict)
	}
	for _, f := range []string{"run-1/results.json", "run-2/history.jsonl", "plots/repeat.png"} {
		if _, err := os.Stat(filepath.Join(out, p.Dir, f)); err != nil {
			t.Error(err)
		}
	}
	for _, f := range []string{"sweep.html", "plots/sweep-latency.png"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
}
