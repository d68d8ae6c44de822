package report

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/stormsim/stormsim/sim/bench"
	"github.com/stormsim/stormsim/sim/measure"
)

func TestDecisionRate_Series(t *testing.T) {
	tests := []struct {
		name   string
		series []Sample
		want   float64
	}{
		{"nothing decided", []Sample{{Started: 3}}, 0},
		{"window from first to last decision", []Sample{{}, {Committed: 4}, {}, {Conflict: 2, Committed: 2}, {}}, 8.0 / 3},
		{"one second", []Sample{{Committed: 5}}, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := DecisionRate(&Results{Series: tt.series}); got != tt.want {
				t.Errorf("DecisionRate = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestNewBench_Ratios(t *testing.T) {
	r := &Results{Scenario: "b", Verdict: Pass, Series: []Sample{{Committed: 100}},
		Harness: &Harness{RedisCallsPerUpload: 3, S3CallsPerUpload: 4}}
	b := NewBench(r, 0, bench.Ceiling{UploadsSec: 400}, bench.OpRate{PerSec: 200}, bench.OpRate{PerSec: 1000}, bench.OpRate{PerSec: 500})
	if b.AchievedDecisionsPerSec != 100 || b.Efficiency != 0.25 || b.RatioToReference != 0.5 || b.DeviceToVegeta != 0.5 ||
		b.RedisCallsPerUpload != 3 || b.Scenario != "b" {
		t.Errorf("bench %+v", b)
	}
	none := NewBench(r, 0, bench.Ceiling{}, bench.OpRate{}, bench.OpRate{}, bench.OpRate{PerSec: 500})
	if none.Efficiency != 0 || none.RatioToReference != 0 || none.DeviceToVegeta != 0 {
		t.Errorf("a ratio over an unmeasured denominator: %+v", none)
	}
	// The exact window wins over whole seconds: 101 decisions over 0.5 s
	// are 200/s, where the series (one second) says 101.
	r.Uploads.Committed = 101
	exact := NewBench(r, 500*time.Millisecond, bench.Ceiling{}, bench.OpRate{PerSec: 400}, bench.OpRate{}, bench.OpRate{})
	if exact.AchievedDecisionsPerSec != 200 || exact.DecisionWindowSeconds != 0.5 || exact.RatioToReference != 0.5 {
		t.Errorf("exact window: %+v", exact)
	}
	var buf bytes.Buffer
	if err := BenchSummary(&buf, b, []bench.OpRate{{Op: "put", Size: 1024, PerSec: 900}}); err != nil {
		t.Fatal(err)
	}
	if out := buf.String(); !strings.Contains(out, "efficiency: 0.25") || !strings.Contains(out, "1024  900\n") {
		t.Errorf("summary:\n%s", out)
	}
}

// TestBenchSummary_SharedMachine: a bench beside other processes says so;
// an idle one, and one on a machine whose use is unknown, say nothing.
func TestBenchSummary_SharedMachine(t *testing.T) {
	r := &Results{Scenario: "b", Verdict: Pass, Series: []Sample{{Committed: 100}}}
	tests := []struct {
		name   string
		shares measure.CPUShares
		other  float64
		warns  bool
	}{
		{"shared", measure.CPUShares{Process: 0.6, Machine: 0.99, Other: 0.39, CPUs: 2}, 0.39, true},
		{"idle", measure.CPUShares{Process: 0.9, Machine: 0.95, Other: 0.05, CPUs: 2}, 0.05, false},
		{"unknown", measure.CPUShares{Process: 0.9, Machine: -1, CPUs: 2}, -1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := NewBench(r, 0, bench.Ceiling{}, bench.OpRate{}, bench.OpRate{}, bench.OpRate{})
			b.SetMachine(tt.shares)
			if b.OtherCPUShare != tt.other || b.CPUs != 2 {
				t.Errorf("bench %+v, want other_cpu_share %v", b, tt.other)
			}
			var buf bytes.Buffer
			if err := BenchSummary(&buf, b, nil); err != nil {
				t.Fatal(err)
			}
			if got := strings.Contains(buf.String(), "shared machine: other processes took 39.0% of the 2 cores"); got != tt.warns {
				t.Errorf("warns %v, want %v:\n%s", got, tt.warns, buf.String())
			}
		})
	}
}
