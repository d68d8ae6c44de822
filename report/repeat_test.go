package report

import (
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stormsim/stormsim/scenarios"
)

func TestMedianCI_KnownSamples(t *testing.T) {
	tests := []struct {
		name             string
		values           []float64
		median, lo, hi   float64
		confidence       float64
		minimum, maximum float64
	}{
		// benchstat's own case (x/perf benchmath TestSummaryNone): 6 values
		// are the fewest with a 95% interval, [x(1), x(6)] at 1-2/64.
		{"benchstat six", []float64{-10, 2, 3, 4, 5, 6}, 3.5, -10, 6, 1 - 0.03125, -10, 6},
		// The textbook 10-value case: [x(2), x(9)], coverage 1002/1024.
		{"ten", []float64{10, 9, 8, 7, 6, 5, 4, 3, 2, 1}, 5.5, 2, 9, 1002.0 / 1024, 1, 10},
		// Too few for 95%: [min, max] with its own coverage 1-2/2^n.
		{"three", []float64{3, 1, 2}, 2, 1, 3, 0.75, 1, 3},
		{"five", []float64{5, 1, 4, 2, 3}, 3, 1, 5, 1 - 2.0/32, 1, 5},
		{"two", []float64{4, 2}, 3, 2, 4, 0.5, 2, 4},
		{"one", []float64{7}, 7, 7, 7, 0, 7, 7},
		{"NaN left out", []float64{1, math.NaN(), 3, 2}, 2, 1, 3, 0.75, 1, 3},
		{"empty", nil, 0, 0, 0, 0, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			iv := MedianCI(tt.values, RepeatConfidence)
			got := []float64{iv.Median, iv.CILow, iv.CIHigh, iv.Confidence, iv.Min, iv.Max}
			want := []float64{tt.median, tt.lo, tt.hi, tt.confidence, tt.minimum, tt.maximum}
			for i, name := range []string{"median", "ci_low", "ci_high", "confidence", "min", "max"} {
				if math.Abs(got[i]-want[i]) > 1e-12 {
					t.Errorf("%s = %v, want %v", name, got[i], want[i])
				}
			}
			if len(iv.Values) != len(tt.values) {
				t.Errorf("values %v, want the %d given", iv.Values, len(tt.values))
			}
		})
	}
}

// TestMedianCI_Coverage: from 6 values on, the interval reaches 95%, and
// it is the narrowest one the binomial allows (one order statistic less
// on either side would fall short).
func TestMedianCI_Coverage(t *testing.T) {
	for n := 6; n <= 60; n++ {
		lo, hi, cover := medianOrders(n, RepeatConfidence)
		if lo < 1 || hi > n || cover < RepeatConfidence {
			t.Fatalf("n=%d: orders [%d, %d] cover %v", n, lo, hi, cover)
		}
		pmf := binomialHalf(n)
		if cover-pmf[lo] >= RepeatConfidence && cover-pmf[hi-1] >= RepeatConfidence {
			t.Errorf("n=%d: [%d, %d] at %v is wider than needed", n, lo, hi, cover)
		}
	}
}

func TestJudgeInterval_Outcomes(t *testing.T) {
	iv := func(lo, hi float64) Interval { return Interval{CILow: lo, CIHigh: hi, Median: (lo + hi) / 2} }
	tests := []struct {
		gate string
		iv   Interval
		want string
	}{
		{"latency.p99 < 2s", iv(1, 1.9), Pass},
		{"latency.p99 < 2s", iv(1.5, 2.5), Inconclusive},
		{"latency.p99 < 2s", iv(2, 3), Fail},
		{"polls.mean <= 1", iv(0.5, 1), Pass},
		{"uploads.committed_v2plus >= 2000", iv(2100, 3000), Pass},
		{"uploads.committed_v2plus >= 2000", iv(1900, 2100), Inconclusive},
		{"uploads.committed_v2plus >= 2000", iv(10, 1999), Fail},
		{"invariants.violations == 0", iv(0, 0), Pass},
		{"invariants.violations == 0", iv(0, 2), Inconclusive},
		{"invariants.violations == 0", iv(1, 2), Fail},
		{"uploads.unknown != 0", iv(1, 2), Pass},
		{"uploads.unknown != 0", iv(0, 2), Inconclusive},
		{"uploads.unknown != 0", iv(0, 0), Fail},
		{"latency.p99 < 2s", iv(math.NaN(), math.NaN()), Fail},
	}
	for _, tt := range tests {
		g, err := scenarios.ParseGate(tt.gate)
		if err != nil {
			t.Fatal(err)
		}
		if got := JudgeInterval(g, tt.iv); got != tt.want {
			t.Errorf("%s over [%v, %v] = %s, want %s", tt.gate, tt.iv.CILow, tt.iv.CIHigh, got, tt.want)
		}
	}
}

// repeatRun is a minimal run's results with a latency p99 and invariants.
func repeatRun(p99 float64, violations int) *Results {
	return &Results{Verdict: Pass, Reasons: []string{}, Scenario: "ci", Seed: 42, Started: time.Unix(1000, 0),
		DurationSeconds: 10, Uploads: Uploads{Total: 100, Committed: 90, Conflict: 10},
		Latency:    Latency{Count: 100, P99: p99, P50: p99 / 2},
		Invariants: []Invariant{{Name: "one-winner", OK: violations == 0, Violations: violations, Examples: []string{"u-1"}}}}
}

func TestRepeatSet_Close_Verdict(t *testing.T) {
	gate, err := scenarios.ParseGate("latency.p99 < 2s")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		p99        []float64
		violations []int
		want       string
		reason     string
	}{
		{"all pass", []float64{1, 1.5, 1.8}, []int{0, 0, 0}, Pass, ""},
		{"straddles", []float64{1, 2.5, 3}, []int{0, 0, 0}, Inconclusive, "straddles the threshold"},
		{"all fail", []float64{3, 4, 5}, []int{0, 0, 0}, Fail, "the whole interval fails"},
		{"one run violates", []float64{1, 1, 1}, []int{0, 2, 0}, Fail, "run-2: invariant one-winner"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var set RepeatSet
			for i, p := range tt.p99 {
				set.Add(RepeatRunDir(i+1, len(tt.p99)), nil, repeatRun(p, tt.violations[i]))
			}
			r := set.Close([]scenarios.Gate{gate}, "simrun --seed 42 --repeat 3 ci.yaml")
			if r.Verdict != tt.want {
				t.Fatalf("verdict %s %v, want %s", r.Verdict, r.Reasons, tt.want)
			}
			if tt.reason != "" && !strings.Contains(strings.Join(r.Reasons, "\n"), tt.reason) {
				t.Errorf("reasons %q lack %q", r.Reasons, tt.reason)
			}
			if r.Repeat == nil || r.Repeat.N != len(tt.p99) || len(r.Repeat.Runs) != len(tt.p99) {
				t.Fatalf("repeat section %+v", r.Repeat)
			}
			iv := r.Repeat.Metrics["latency.p99"]
			if iv.Median != tt.p99[1] || iv.CILow != tt.p99[0] || iv.CIHigh != tt.p99[2] || iv.Confidence != 0.75 {
				t.Errorf("latency.p99 interval %+v", iv)
			}
			if r.Latency.P99 != tt.p99[1] || r.Uploads.Total != 100 || r.Scenario != "ci" {
				t.Errorf("set figures are not the runs' medians: p99 %v total %d scenario %q", r.Latency.P99, r.Uploads.Total, r.Scenario)
			}
			var sum int
			for _, v := range tt.violations {
				sum += v
			}
			if got := r.Invariants[0].Violations; got != sum {
				t.Errorf("invariant violations %d, want the runs' sum %d", got, sum)
			}
			if g := r.Gates[0]; g.Interval == nil || g.Value != tt.p99[1] {
				t.Errorf("gate %+v: want the median and its interval", g)
			}
		})
	}
}

// TestRepeatSet_Close_Saturation: the set is harness-bound when any run
// was, and names every bound run's reasons, never a bare bound with no
// reasons.
func TestRepeatSet_Close_Saturation(t *testing.T) {
	bound := func(why ...string) *Harness {
		return &Harness{Saturation: &Saturation{Bound: len(why) > 0, Reasons: append([]string{}, why...)}}
	}
	tests := []struct {
		name    string
		runs    []*Harness
		bound   bool
		reasons []string
	}{
		{"none bound", []*Harness{bound(), bound(), bound()}, false, []string{}},
		{"run 1 bound only", []*Harness{bound("cpu"), bound(), bound()}, true, []string{"run-1: cpu"}},
		{"runs 2 and 3 bound", []*Harness{bound(), bound("lag"), bound("cpu", "redis")}, true,
			[]string{"run-2: lag", "run-3: cpu", "run-3: redis"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var set RepeatSet
			for i, h := range tt.runs {
				r := repeatRun(1, 0)
				r.Harness = h
				set.Add(RepeatRunDir(i+1, len(tt.runs)), nil, r)
			}
			got := set.Close(nil, "").Harness.Saturation
			if got.Bound != tt.bound || !reflect.DeepEqual(got.Reasons, tt.reasons) {
				t.Errorf("saturation bound %v reasons %q, want %v %q", got.Bound, got.Reasons, tt.bound, tt.reasons)
			}
		})
	}
}

func TestRepeatSet_Close_Empty(t *testing.T) {
	var set RepeatSet
	if r := set.Close(nil, ""); r.Verdict != Inconclusive {
		t.Fatalf("no runs: verdict %s", r.Verdict)
	}
}

func TestRepeatRunDir_Sorts(t *testing.T) {
	tests := []struct {
		i, n int
		want string
	}{{1, 3, "run-1"}, {3, 9, "run-3"}, {2, 10, "run-02"}, {10, 10, "run-10"}, {7, 100, "run-007"}}
	for _, tt := range tests {
		if got := RepeatRunDir(tt.i, tt.n); got != tt.want {
			t.Errorf("RepeatRunDir(%d, %d) = %s, want %s", tt.i, tt.n, got, tt.want)
		}
	}
}

func TestIntervalBars_RepeatedPoints(t *testing.T) {
	iv := Interval{Median: 1, CILow: 0.5, CIHigh: 2, Values: []float64{0.5, 1, 2}}
	pt := func(runs int) SweepPoint {
		return SweepPoint{Value: 10, OfferedRate: 10, Uploads: 5, LatencyP99: 1, Runs: runs,
			Intervals: map[string]Interval{"latency.p99": iv}}
	}
	ser := sweepSeries{y: func(p SweepPoint) (float64, bool) { return p.LatencyP99, true }, metric: "latency.p99"}
	x := func(p SweepPoint) float64 { return p.Value }
	tests := []struct {
		name string
		pts  []SweepPoint
		want int
	}{
		{"repeated", []SweepPoint{pt(3), pt(3)}, 2},
		{"single runs", []SweepPoint{pt(0)}, 0},
		{"no metric", nil, 0},
	}
	for _, tt := range tests {
		eb := intervalBars(tt.pts, ser, x)
		got := 0
		if eb != nil {
			got = eb.XYs.Len()
			if lo, hi := eb.YErrors.YError(0); lo != 0.5 || hi != 1 {
				t.Errorf("%s: bar offsets %v, %v, want 0.5, 1", tt.name, lo, hi)
			}
		}
		if got != tt.want {
			t.Errorf("%s: %d bars, want %d", tt.name, got, tt.want)
		}
	}
	s := &Sweep{Param: "rate", Points: []SweepPoint{pt(3), {Value: 20, OfferedRate: 20, Uploads: 5, LatencyP99: 1.5, Runs: 3,
		Intervals: map[string]Interval{"latency.p99": iv}}}}
	s.Finish()
	if _, err := SweepCharts(s); err != nil {
		t.Fatal(err)
	}
}

// ExampleMedianCI: three runs' p99 latency. Three runs are too few for a
// 95% interval of the median, so the interval is [min, max], which
// covers the median with probability 1 - 2/2^3 = 75%.
func ExampleMedianCI() {
	iv := MedianCI([]float64{1.2, 0.9, 1.5}, RepeatConfidence)
	fmt.Printf("median %.1f, interval [%.1f, %.1f] at %.0f%%\n", iv.Median, iv.CILow, iv.CIHigh, 100*iv.Confidence)
	// Output: median 1.2, interval [0.9, 1.5] at 75%
}
