package report

import (
	"math"
	"slices"

	"github.com/stormsim/stormsim/scenarios"
)

// RepeatConfidence is the confidence level a repeated run asks of each
// metric's interval.
const RepeatConfidence = 0.95

// Interval summarises one metric over the runs of a repeated run, in the
// benchstat manner: the median, and a confidence interval of the median
// from order statistics.
type Interval struct {
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
	CILow  float64 `json:"ci_low"`
	CIHigh float64 `json:"ci_high"`
	// Confidence is the interval's actual coverage of the median: at
	// least RepeatConfidence when there are enough runs (6 or more);
	// below that the interval is [min, max] and covers less (3 runs: 75%).
	Confidence float64 `json:"confidence"`
	// Values are the runs' values in run order.
	Values []float64 `json:"values"`
}

// MedianCI returns the median of values and a confidence interval of the
// median at the given confidence, the way benchstat does it
// (golang.org/x/perf/benchmath AssumeNothing, go-moremath QuantileCI):
// the number of sample values below the population median is
// Binomial(n, 1/2), so the interval between order statistics x(l) and
// x(r) covers the median with probability P(l <= K < r). Starting at the
// mode, the more probable neighbouring term is added (ties to the left)
// until the sum reaches the confidence. The binomial is summed exactly
// for every n (benchstat switches to a normal approximation above 30
// samples).
//
// Where benchstat reports an unbounded interval (fewer than 6 values at
// 95%), MedianCI returns [min, max] with its actual, lower coverage,
// 1 - 2/2^n: a repeated run of 3 can then still fail or pass a gate when
// all of its runs agree, and says how sure that is. Empty values give a
// zero Interval; NaNs are left out.
func MedianCI(values []float64, confidence float64) Interval {
	iv := Interval{Values: append([]float64{}, values...)}
	xs := make([]float64, 0, len(values))
	for _, v := range values {
		if !math.IsNaN(v) {
			xs = append(xs, v)
		}
	}
	n := len(xs)
	if n == 0 {
		return iv
	}
	slices.Sort(xs)
	iv.Min, iv.Max = xs[0], xs[n-1]
	iv.Median = xs[n/2]
	if n%2 == 0 {
		iv.Median = (xs[n/2-1] + xs[n/2]) / 2
	}
	lo, hi, cover := medianOrders(n, confidence)
	if lo < 1 || hi > n {
		lo, hi, cover = 1, n, 1-2*math.Pow(0.5, float64(n))
	}
	iv.CILow, iv.CIHigh, iv.Confidence = xs[lo-1], xs[hi-1], cover
	return iv
}

// medianOrders returns the 1-based order statistics [lo, hi] bounding the
// confidence interval of the median of n values, and its coverage. lo < 1
// or hi > n mean the bound is infinite (too few values).
func medianOrders(n int, confidence float64) (lo, hi int, cover float64) {
	pmf := binomialHalf(n)
	at := func(k int) float64 {
		if k < 0 || k > n {
			return 0
		}
		return pmf[k]
	}
	// [l, r) are the gaps between order statistics summed so far; gap k
	// lies between x(k) and x(k+1).
	x := int(math.Ceil(float64(n+1)*0.5) - 1)
	l, r := x, x+1
	cover = at(x)
	for cover < confidence && (at(l-1) > 0 || at(r) > 0) {
		if at(l-1) >= at(r) {
			l--
			cover += at(l)
		} else {
			cover += at(r)
			r++
		}
	}
	return l, r, math.Min(cover, 1)
}

// binomialHalf returns the Binomial(n, 1/2) probabilities of 0..n,
// computed in logs so that large n does not overflow.
func binomialHalf(n int) []float64 {
	out := make([]float64, n+1)
	ln := func(k int) float64 { v, _ := math.Lgamma(float64(k + 1)); return v }
	for k := range out {
		out[k] = math.Exp(ln(n) - ln(k) - ln(n-k) - float64(n)*math.Ln2)
	}
	return out
}

// JudgeInterval judges a gate over a metric's interval [ci_low, ci_high]:
// pass only when every value of the interval passes, fail only when every
// value fails, inconclusive when the interval straddles the threshold. It
// returns Pass, Fail or Inconclusive, the verdict words.
func JudgeInterval(g scenarios.Gate, iv Interval) string {
	lo, hi := iv.CILow, iv.CIHigh
	if math.IsNaN(lo) || math.IsNaN(hi) {
		return Fail // no samples: gates fail closed
	}
	var pass, fail bool
	switch g.Op {
	case "==":
		pass = lo == g.Value && hi == g.Value
		fail = g.Value < lo || g.Value > hi
	case "!=":
		pass = g.Value < lo || g.Value > hi
		fail = lo == g.Value && hi == g.Value
	default: // < <= > >=: monotonic, so the ends decide
		pass = g.Eval(lo) && g.Eval(hi)
		fail = !g.Eval(lo) && !g.Eval(hi)
	}
	switch {
	case pass:
		return Pass
	case fail:
		return Fail
	}
	return Inconclusive
}
