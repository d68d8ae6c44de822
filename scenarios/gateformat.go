package scenarios

import (
	"math"
	"strconv"
	"strings"
)

// durationUnits are the units a gate's duration may end with, in seconds.
var durationUnits = []struct {
	suffix string
	secs   float64
}{
	// Longest first, so "ms" wins over "s".
	{"ns", 1e-9}, {"us", 1e-6}, {"µs", 1e-6}, {"ms", 1e-3},
	{"s", 1}, {"m", 60}, {"h", 3600}, {"d", 86400},
}

// threshold is the gate's value as written: "30s", "30%", "1.5".
func (g Gate) threshold() string {
	s := strings.TrimSpace(g.Expr)
	i := strings.IndexAny(s, "<>=!")
	if i < 0 {
		return ""
	}
	return strings.TrimSpace(s[i+len(g.Op):])
}

// FormatValue shows a measured value in the unit the gate's threshold was
// written in: "29.98s" for a gate "latency.p99 < 30s", "8.2%" for
// "uploads.conflict_rate < 30%", "1.2" for "polls.mean <= 1.5". It keeps
// enough digits that a value on the wrong side of the threshold never
// prints as the threshold itself (29.9999s is not shown as "30s").
func (g Gate) FormatValue(x float64) string {
	if math.IsNaN(x) {
		return "no data"
	}
	if math.IsInf(x, 0) {
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	raw := g.threshold()
	scale, suffix, digits := 1.0, "", 2
	switch {
	case strings.HasSuffix(raw, "%"):
		scale, suffix, digits = 100, "%", 1
	default:
		if _, err := strconv.ParseFloat(raw, 64); err == nil {
			break
		}
		// A duration: show the value in its smallest unit ("1m30s": s).
		for _, u := range durationUnits {
			if strings.HasSuffix(raw, u.suffix) {
				scale, suffix = 1/u.secs, u.suffix
				break
			}
		}
	}
	// One digit more than the threshold was written with.
	if _, frac, ok := strings.Cut(strings.TrimRight(raw, "%µnsumhd"), "."); ok {
		digits = max(digits, len(frac)+1)
	}
	format := func(v float64, d int) string {
		out := strconv.FormatFloat(v*scale, 'f', d, 64)
		if strings.Contains(out, ".") {
			out = strings.TrimRight(strings.TrimRight(out, "0"), ".")
		}
		if out == "-0" {
			out = "0"
		}
		return out
	}
	out := format(x, digits)
	for x != g.Value && out == format(g.Value, digits) && digits < 9 {
		digits++
		out = format(x, digits)
	}
	return out + suffix
}
