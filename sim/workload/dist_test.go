package workload

import (
	"math"
	"slices"
	"testing"

	"github.com/stormsim/stormsim/scenarios"
)

const nSamples = 100_000

func samples(d scenarios.Dist, seed uint64) []float64 {
	r := NewStreams(seed).New("test")
	out := make([]float64, nSamples)
	for i := range out {
		out[i] = Sample(d, r)
	}
	return out
}

func meanOf(xs []float64) float64 {
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

func stddevOf(xs []float64) float64 {
	m := meanOf(xs)
	var s float64
	for _, x := range xs {
		s += (x - m) * (x - m)
	}
	return math.Sqrt(s / float64(len(xs)))
}

func medianOf(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

func within(t *testing.T, what string, got, want, relTol float64) {
	t.Helper()
	if math.Abs(got-want) > relTol*math.Abs(want) {
		t.Errorf("%s = %.4g, want %.4g ± %.1f%%", what, got, want, relTol*100)
	}
}

func TestSample_Kinds(t *testing.T) {
	tests := []struct {
		name               string
		d                  scenarios.Dist
		mean, median, sdev float64 // 0 = not checked
		lo, hi             float64 // every sample in [lo, hi]
	}{
		{"fixed", scenarios.Dist{Kind: "fixed", Value: 42}, 42, 42, 0, 42, 42},
		{"uniform", scenarios.Dist{Kind: "uniform", Min: 10, Max: 30}, 20, 20, 20 / math.Sqrt(12), 10, 30},
		{"normal", scenarios.Dist{Kind: "normal", Mean: 100, Stddev: 10}, 100, 100, 10, 0, math.Inf(1)},
		{"normal clamped at 0", scenarios.Dist{Kind: "normal", Mean: 0, Stddev: 1}, 1 / math.Sqrt(2*math.Pi), 0, 0, 0, math.Inf(1)},
		{"lognormal", scenarios.Dist{Kind: "lognormal", Median: 16384, Sigma: 1}, 16384 * math.Exp(0.5), 16384, 0, 0, math.Inf(1)},
		{"exponential", scenarios.Dist{Kind: "exponential", Mean: 0.02}, 0.02, 0.02 * math.Ln2, 0.02, 0, math.Inf(1)},
		{"pareto capped", scenarios.Dist{Kind: "pareto", Alpha: 1.2, Scale: 1000, Cap: 1e6}, 0, 1000 * math.Pow(2, 1/1.2), 0, 1000, 1e6},
		{"pareto heavy capped", scenarios.Dist{Kind: "pareto", Alpha: 0.8, Scale: 1, Cap: 100}, 0, 0, 0, 1, 100},
		{"lognormal with cap", scenarios.Dist{Kind: "lognormal", Median: 100, Sigma: 2, Cap: 150}, 0, 100, 0, 0, 150},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			xs := samples(tt.d, 1)
			for _, x := range xs {
				if x < tt.lo || x > tt.hi || math.IsNaN(x) {
					t.Fatalf("sample %v outside [%v, %v]", x, tt.lo, tt.hi)
				}
			}
			if tt.mean != 0 {
				within(t, "mean", meanOf(xs), tt.mean, 0.02)
			}
			if tt.median != 0 {
				within(t, "median", medianOf(xs), tt.median, 0.02)
			}
			if tt.sdev != 0 {
				within(t, "stddev", stddevOf(xs), tt.sdev, 0.02)
			}
			if m := Mean(tt.d); tt.d.Kind == "pareto" {
				within(t, "mean vs Mean()", meanOf(xs), m, 0.05)
			}
		})
	}
}

func TestSample_MixProportions(t *testing.T) {
	d := scenarios.Dist{Kind: "mix", Mix: []scenarios.WeightedDist{
		{Weight: 1, Dist: scenarios.Dist{Kind: "fixed", Value: 1}},
		{Weight: 3, Dist: scenarios.Dist{Kind: "fixed", Value: 2}},
		{Weight: 6, Dist: scenarios.Dist{Kind: "fixed", Value: 3}},
	}}
	counts := map[float64]int{}
	for _, x := range samples(d, 2) {
		counts[x]++
	}
	for v, want := range map[float64]float64{1: 0.1, 2: 0.3, 3: 0.6} {
		within(t, "share of "+formatF(v), float64(counts[v])/nSamples, want, 0.03)
	}
	within(t, "Mean()", Mean(d), 0.1+0.6+1.8, 1e-9)
}

func formatF(f float64) string { return string(rune('0' + int(f))) }

func TestSample_Deterministic(t *testing.T) {
	d := scenarios.Dist{Kind: "lognormal", Median: 1, Sigma: 1}
	a, b := samples(d, 5)[:100], samples(d, 5)[:100]
	if !slices.Equal(a, b) {
		t.Fatal("same seed gave different samples")
	}
}

func TestSample_Degenerate(t *testing.T) {
	tests := []scenarios.Dist{
		{},
		{Kind: "nope"},
		{Kind: "mix"},
		{Kind: "pareto"},
		{Kind: "normal", Mean: -5},
	}
	r := NewStreams(1).New("x")
	for _, d := range tests {
		if x := Sample(d, r); x != 0 {
			t.Errorf("Sample(%+v) = %v, want 0", d, x)
		}
	}
}

func TestSample_BurstScenarioMean(t *testing.T) {
	data, _ := scenarios.Builtin("burst")
	sc, err := scenarios.Parse("burst.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	// The headline scenario must stay light on memory.
	if m := meanOf(samples(sc.Sizes.Dist, 3)); m > 200*1024 {
		t.Errorf("burst.yaml mean size %.0f bytes, want < 200KiB", m)
	}
}
