package report

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/stormsim/stormsim/scenarios"
)

// seconds formats a duration given in seconds with three significant
// digits in the largest unit that keeps it at least 1: "850µs", "12.3ms",
// "1.25s", "2m05s". Results hold float seconds, so time.Duration's String
// (which prints every nanosecond) is not used.
func seconds(s float64) string {
	if math.IsNaN(s) || math.IsInf(s, 0) {
		return "-"
	}
	neg := ""
	if s < 0 {
		neg, s = "-", -s
	}
	switch {
	case s == 0:
		return "0s"
	case s < 1e-6:
		return neg + sig3(s*1e9) + "ns"
	case s < 1e-3:
		return neg + sig3(s*1e6) + "µs"
	case s < 1:
		return neg + sig3(s*1e3) + "ms"
	case s < 60:
		return neg + sig3(s) + "s"
	case s < 3600:
		m := math.Floor(s / 60)
		return fmt.Sprintf("%s%.0fm%02.0fs", neg, m, math.Floor(s-60*m))
	default:
		h := math.Floor(s / 3600)
		return fmt.Sprintf("%s%.0fh%02.0fm", neg, h, math.Floor((s-3600*h)/60))
	}
}

// sig3 formats v >= 0 with three significant digits and no trailing zeros.
func sig3(v float64) string {
	var prec int
	switch {
	case v >= 100:
		prec = 0
	case v >= 10:
		prec = 1
	default:
		prec = 2
	}
	return fixed(v, prec)
}

// fixed formats v with at most decimals decimals, without trailing zeros
// ("2.5", not "2.50"; "3", not "3.0") and without a negative zero.
func fixed(v float64, decimals int) string {
	out := strconv.FormatFloat(v, 'f', decimals, 64)
	if strings.Contains(out, ".") {
		out = strings.TrimRight(strings.TrimRight(out, "0"), ".")
	}
	if out == "-0" {
		out = "0"
	}
	return out
}

// bytesIEC formats a byte count in binary units: "512B", "1.5KiB", "3.2GiB".
func bytesIEC(n int64) string {
	const unit = 1024
	if n < unit && n > -unit {
		return strconv.FormatInt(n, 10) + "B"
	}
	v := float64(n)
	for _, u := range []string{"KiB", "MiB", "GiB", "TiB"} {
		v /= unit
		if math.Abs(v) < unit || u == "TiB" {
			return sig3(math.Abs(v)) + u
		}
	}
	return strconv.FormatInt(n, 10) + "B" // unreachable
}

// percent formats a fraction 0..1 as "12.3%".
func percent(f float64) string {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "-"
	}
	return strconv.FormatFloat(100*f, 'f', 1, 64) + "%"
}

// share is part/whole as a fraction, 0 when whole is 0.
func share(part, whole int64) float64 {
	if whole == 0 {
		return 0
	}
	return float64(part) / float64(whole)
}

// num formats a float compactly: integers without decimals, others with up
// to three decimals.
func num(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "-"
	}
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	s := strconv.FormatFloat(v, 'f', 3, 64)
	return strings.TrimRight(strings.TrimRight(s, "0"), ".")
}

// conflictRate is the share of decided uploads that lost.
func conflictRate(u Uploads) float64 {
	return share(u.Conflict, u.Committed+u.Conflict)
}

// status is a gate's or an invariant's status word in text outputs.
func status(ok, inconclusive bool) string {
	switch {
	case inconclusive:
		return "INCONCLUSIVE"
	case ok:
		return "ok"
	}
	return "FAIL"
}

// gateValue shows a gate's measured value in the unit its threshold was
// written in ("29.98s" beside "30s", "8.1%" beside "30%").
func gateValue(g Gate) string {
	if g.NoData {
		return "no data"
	}
	return measured(g.Expr, g.Value)
}

// measured formats a value measured for the gate expression expr; an
// expression that does not parse (a merged run's "shard 0: ...") falls
// back on the metric's own unit.
func measured(expr string, v float64) string {
	_, inner, ok := strings.Cut(expr, ": ") // "shard 0: latency.p99 < 2s"
	if !ok {
		inner = expr
	}
	if pg, err := scenarios.ParseGate(inner); err == nil {
		return pg.FormatValue(v)
	}
	if isDurationMetric(inner) {
		return seconds(v)
	}
	return num(v)
}

// isDurationMetric reports whether the metric an expression starts with
// is in seconds (scenarios.Metrics says).
func isDurationMetric(expr string) bool {
	metric, _, _ := strings.Cut(strings.TrimSpace(expr), " ")
	m, ok := scenarios.LookupMetric(metric)
	return ok && m.Kind == scenarios.KindTime
}

// examples joins up to n ids and says how many more there are.
func examples(ids []string, n int) string {
	if len(ids) <= n {
		return strings.Join(ids, ", ")
	}
	return fmt.Sprintf("%s, ... (%d more)", strings.Join(ids[:n], ", "), len(ids)-n)
}

func money(v float64) string {
	if v != 0 && v < 0.01 && v > -0.01 {
		return fmt.Sprintf("%.6f", v)
	}
	return fmt.Sprintf("%.4f", v)
}

func round2(v float64) float64 { return math.Round(v*100) / 100 }

func shortHash(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
