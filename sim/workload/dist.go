package workload

import (
	"math"
	"math/rand/v2"

	"github.com/stormsim/stormsim/scenarios"
)

// maxMixDepth guards Sample against a hand-built cyclic or absurdly deep
// mix (validated scenarios nest at most 4 deep).
const maxMixDepth = 8

// Sample draws one value from d in d's base unit (bytes for sizes, seconds
// for delays). Results are never negative and never above d.Cap when a cap
// is set. Pareto is truncated at its cap (inverse CDF of the truncated
// distribution, so the tail keeps its shape below the cap and nothing
// piles up at it). An unknown kind yields 0.
func Sample(d scenarios.Dist, r *rand.Rand) float64 {
	return sample(d, r, 0)
}

func sample(d scenarios.Dist, r *rand.Rand, depth int) float64 {
	var x float64
	switch d.Kind {
	case "fixed":
		x = d.Value
	case "uniform":
		x = d.Min + (d.Max-d.Min)*r.Float64()
	case "normal":
		x = d.Mean + d.Stddev*r.NormFloat64()
	case "lognormal":
		x = d.Median * math.Exp(d.Sigma*r.NormFloat64())
	case "exponential":
		x = d.Mean * r.ExpFloat64()
	case "pareto":
		x = pareto(d, r.Float64())
	case "mix":
		if depth >= maxMixDepth {
			return 0
		}
		if c := pick(d.Mix, r); c != nil {
			x = sample(c.Dist, r, depth+1)
		}
	}
	if d.Cap > 0 && x > d.Cap {
		x = d.Cap
	}
	if !(x > 0) { // also catches NaN
		return 0
	}
	return x
}

// pareto maps u in [0,1) to a Pareto(alpha, scale) value, truncated at
// d.Cap when it is above the scale.
func pareto(d scenarios.Dist, u float64) float64 {
	if d.Alpha <= 0 || d.Scale <= 0 {
		return 0
	}
	if d.Cap > d.Scale {
		tail := math.Pow(d.Scale/d.Cap, d.Alpha) // P(X > cap) untruncated
		return d.Scale * math.Pow(1-u*(1-tail), -1/d.Alpha)
	}
	return d.Scale * math.Pow(1-u, -1/d.Alpha)
}

// pick chooses a mix component with probability proportional to weight.
func pick(mix []scenarios.WeightedDist, r *rand.Rand) *scenarios.WeightedDist {
	var total float64
	for i := range mix {
		if mix[i].Weight > 0 {
			total += mix[i].Weight
		}
	}
	if total <= 0 {
		return nil
	}
	u := r.Float64() * total
	var last *scenarios.WeightedDist
	for i := range mix {
		if mix[i].Weight <= 0 {
			continue
		}
		last = &mix[i]
		if u < mix[i].Weight {
			return last
		}
		u -= mix[i].Weight
	}
	return last // rounding left u at the very end
}

// Mean returns the expected value of d (before rounding), or NaN when it
// has no closed form handled here (normal clamped at 0, capped kinds other
// than pareto are approximated by ignoring the cap).
func Mean(d scenarios.Dist) float64 {
	return mean(d, 0)
}

func mean(d scenarios.Dist, depth int) float64 {
	switch d.Kind {
	case "fixed":
		return d.Value
	case "uniform":
		return (d.Min + d.Max) / 2
	case "normal":
		return d.Mean
	case "lognormal":
		return d.Median * math.Exp(d.Sigma*d.Sigma/2)
	case "exponential":
		return d.Mean
	case "pareto":
		a, s, c := d.Alpha, d.Scale, d.Cap
		if c <= s {
			if a <= 1 {
				return math.Inf(1)
			}
			return a * s / (a - 1)
		}
		norm := 1 - math.Pow(s/c, a)
		if a == 1 {
			return s * math.Log(c/s) / norm
		}
		return a * math.Pow(s, a) / (a - 1) * (math.Pow(s, 1-a) - math.Pow(c, 1-a)) / norm
	case "mix":
		if depth >= maxMixDepth {
			return math.NaN()
		}
		var total, sum float64
		for _, c := range d.Mix {
			if c.Weight > 0 {
				total += c.Weight
				sum += c.Weight * mean(c.Dist, depth+1)
			}
		}
		return sum / total
	}
	return math.NaN()
}
