package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stormsim/stormsim/sim/measure"
)

func planResults(p50, conflicts float64, bound bool) *Results {
	r := &Results{DurationSeconds: 10, Uploads: Uploads{Total: 100, Committed: 100 - int64(conflicts), Conflict: int64(conflicts)},
		Latency: Latency{Count: 100, P50: p50, P99: 2 * p50}, Polls: Polls{Mean: 1, ZeroShare: 0.2},
		Throughput: Throughput{MaxInFlight: 40}, Harness: &Harness{}}
	if bound {
		r.Harness.Saturation = &Saturation{Bound: true, Reasons: []string{"CPU: busy"}}
	}
	return r
}

func TestCheckPlan_Verdict_Cases(t *testing.T) {
	tests := []struct {
		name     string
		plan     *Results
		measured *Results
		want     string
	}{
		{"within tolerance", planResults(1.1, 10, false), planResults(1.0, 12, false), Pass},
		{"latency outside", planResults(1.3, 10, false), planResults(1.0, 10, false), Fail},
		{"conflicts outside", planResults(1.0, 2, false), planResults(1.0, 20, false), Fail},
		{"harness-bound measurement", planResults(1.0, 10, false), planResults(9.0, 40, true), Inconclusive},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := CheckPlan(tt.plan, tt.measured, PlanTolerances)
			if c.Verdict != tt.want {
				t.Fatalf("verdict %s (%v), want %s", c.Verdict, c.Reasons, tt.want)
			}
			var buf bytes.Buffer
			if err := WritePlanCheck(&buf, c); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(buf.String(), "latency.p99") || !strings.Contains(buf.String(), "validation: "+strings.ToUpper(tt.want)) {
				t.Fatalf("table:\n%s", buf.String())
			}
		})
	}
}

func TestCheckPlan_Skip_NotJudged(t *testing.T) {
	tols := []Tolerance{{Metric: "polls.mean", Relative: 0.01, Skip: "policy differs"}}
	m := planResults(1, 10, false)
	m.Polls.Mean = 5
	c := CheckPlan(m, planResults(1, 10, false), tols)
	if c.Verdict != Pass || c.Rows[0].Judged || c.Rows[0].Reason != "policy differs" {
		t.Fatalf("check = %+v", c)
	}
}

// The over-time table lines the two runs up by second and names the
// seconds where the measured run stalled; the verdict still judges the
// whole run (a stall is shown, not left out).
func TestCheckPlan_Seconds_MarksStall(t *testing.T) {
	plan, measured := planResults(0.02, 10, false), planResults(0.02, 10, false)
	plan.Model = &Model{Notes: []string{"cpu: modelled on 2 cores"}}
	plan.Series = []Sample{{Second: 0, Planned: 300, InFlight: 10, LatencyMean: 0.02}, {Second: 1, Planned: 300, InFlight: 11, LatencyMean: 0.02}}
	measured.Series = []Sample{{Second: 0, Planned: 300, InFlight: 12, LatencyMean: 0.025}, {Second: 1, Planned: 300, InFlight: 138, LatencyMean: 0.18}}
	measured.Harness.Saturation = &Saturation{}
	measured.Harness.Saturation.ProcessCPUShare, measured.Harness.Saturation.CPUs = 0.3, 2
	c := CheckPlan(plan, measured, PlanTolerances)
	if len(c.Seconds) != 2 || c.Seconds[0].Stalled || !c.Seconds[1].Stalled || c.Verdict != Pass {
		t.Fatalf("seconds %+v, verdict %s", c.Seconds, c.Verdict)
	}
	// 0.3 of 2 cores for 10 s over 100 uploads: 60 ms per upload
	if got := c.MeasuredCPUPerUpload; got < 0.0599 || got > 0.0601 {
		t.Fatalf("measured CPU per upload %g, want 0.06", got)
	}
	var buf bytes.Buffer
	if err := WritePlanCheck(&buf, c); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"over time", "11 | 138", "measured 9.0x the model", "over 2x the model's: 1 ", "cpu: modelled on 2 cores", "60.00 ms CPU per upload"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("no %q in:\n%s", want, buf.String())
		}
	}
}

// A p99 is judged only where the measured run holds MinTailUploads above
// it: ci.yaml's 1,100 uploads (11 above) do not resolve it, steady.yaml's
// 6,000 (60 above) do. The p50 of either is judged.
func TestCheckPlan_Percentile_JudgedOnlyWhenResolved(t *testing.T) {
	for _, tt := range []struct {
		count  int64
		judged bool
		want   string
	}{{1100, false, Pass}, {4999, false, Pass}, {5000, true, Fail}, {6000, true, Fail}} {
		plan, measured := planResults(0.02, 10, false), planResults(0.02, 10, false)
		plan.Latency.P99, measured.Latency.P99 = 0.17, 0.12
		measured.Latency.Count = tt.count
		c := CheckPlan(plan, measured, PlanTolerances)
		var p50, p99 PlanRow
		for _, r := range c.Rows {
			switch r.Metric {
			case "latency.p50":
				p50 = r
			case "latency.p99":
				p99 = r
			}
		}
		if c.Verdict != tt.want || p99.Judged != tt.judged || !p50.Judged {
			t.Fatalf("count %d: verdict %s, p99 %+v, p50 %+v", tt.count, c.Verdict, p99, p50)
		}
		if !tt.judged && !strings.Contains(p99.Reason, "does not resolve") {
			t.Fatalf("count %d: reason %q", tt.count, p99.Reason)
		}
	}
}

// TestCheckPlan_SharedMachine_Inconclusive: a measured run during which
// other processes used more than MaxOtherCPUShare of the cores says
// nothing about the model, failing figures or not; at the limit it is
// judged.
func TestCheckPlan_SharedMachine_Inconclusive(t *testing.T) {
	shared := func(p50, other float64) *Results {
		r := planResults(p50, 10, false)
		r.Harness.Saturation = &Saturation{Saturation: measure.Saturation{CPUs: 2, OtherCPUShare: other}}
		return r
	}
	for _, tt := range []struct {
		name     string
		measured *Results
		want     string
	}{
		{"idle, within", shared(1.0, MaxOtherCPUShare), Pass},
		{"idle, outside", shared(2.0, MaxOtherCPUShare), Fail},
		{"shared, within", shared(1.0, MaxOtherCPUShare+0.01), Inconclusive},
		{"shared, outside", shared(2.0, 0.5), Inconclusive},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := CheckPlan(planResults(1.0, 10, false), tt.measured, PlanTolerances)
			if c.Verdict != tt.want {
				t.Fatalf("verdict %s (%v), want %s", c.Verdict, c.Reasons, tt.want)
			}
			if tt.want == Inconclusive && !strings.Contains(c.Reasons[0], "not idle") {
				t.Errorf("reason %q does not say the machine was shared", c.Reasons[0])
			}
		})
	}
}

// TestCheckPlan_MaxInFlight_JudgedFromMin: a maximum in flight under
// MinMaxInFlight is shown, not judged; from it on, within 25%.
func TestCheckPlan_MaxInFlight_JudgedFromMin(t *testing.T) {
	for _, tt := range []struct {
		model, measured int64
		verdict         string
		judged          bool
	}{{14, 23, Pass, false}, {100, 124, Pass, true}, {100, 134, Fail, true}, {1000, 1340, Fail, true}} {
		p, m := planResults(1.0, 10, false), planResults(1.0, 10, false)
		p.Throughput.MaxInFlight, m.Throughput.MaxInFlight = tt.model, tt.measured
		c := CheckPlan(p, m, PlanTolerances)
		if c.Verdict != tt.verdict {
			t.Errorf("model %d, measured %d: %s %v, want %s", tt.model, tt.measured, c.Verdict, c.Reasons, tt.verdict)
		}
		for _, r := range c.Rows {
			if r.Metric == "throughput.max_in_flight" && r.Judged != tt.judged {
				t.Errorf("model %d, measured %d: judged %v (%s), want %v", tt.model, tt.measured, r.Judged, r.Reason, tt.judged)
			}
		}
	}
}
