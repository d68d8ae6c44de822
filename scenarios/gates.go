package scenarios

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Gate is one parsed gate expression "METRIC OP VALUE", e.g.
// "latency.p99 < 2s". Durations are converted to seconds and percentages
// ("95%") to fractions.
type Gate struct {
	Expr   string
	Metric string
	Op     string // one of < <= > >= == !=
	Value  float64
}

// GateMetrics names every metric a gate may use (README.md has the same
// table). Times are in seconds and accept durations ("2s", "75s").
var GateMetrics = map[string]string{
	"uploads.total":                 "uploads started",
	"uploads.committed":             "uploads that won (committed a new version)",
	"uploads.conflict":              "uploads that lost and were kept as a conflicted copy",
	"uploads.rejected":              "uploads rejected before a decision (e.g. stale fence)",
	"uploads.error":                 "uploads that ended in an error",
	"uploads.unknown":               "uploads whose outcome was never learned",
	"uploads.pending":               "uploads still undecided (bytes staged) when the drain ended",
	"uploads.conflict_rate":         "conflict / (committed + conflict)",
	"uploads.committed_v2plus":      "commits of version 2 or above (built on an earlier commit)",
	"uploads.max_version":           "highest committed version",
	"polls.mean":                    "mean result polls per upload",
	"polls.p50":                     "median result polls per upload",
	"polls.p99":                     "99th percentile of result polls per upload",
	"polls.max":                     "most result polls of one upload",
	"polls.zero_share":              "fraction of uploads resolved by push with no poll",
	"latency.mean":                  "mean seconds from planned instant to known outcome",
	"latency.p50":                   "median latency, seconds",
	"latency.p90":                   "90th percentile latency, seconds",
	"latency.p99":                   "99th percentile latency, seconds",
	"latency.p999":                  "99.9th percentile latency, seconds",
	"latency.max":                   "largest latency, seconds",
	"throughput.achieved_rate":      "started uploads per second",
	"throughput.achieved_ratio":     "achieved rate / planned rate",
	"throughput.commits_per_second": "commits per second",
	"invariants.violations":         "violations over all invariants",
	"errors.total":                  "errors of every kind",
	"scheduler.lateness.mean":       "mean seconds an event ran after its due time",
	"scheduler.lateness.p50":        "median scheduler lateness, seconds",
	"scheduler.lateness.p99":        "99th percentile scheduler lateness, seconds",
	"scheduler.lateness.max":        "largest scheduler lateness, seconds",
	"scheduler.early":               "events run before their due time",
	"scheduler.missed":              "events never run",
	"scheduler.duplicates":          "events run more than once",
	"scheduler.events":              "events scheduled",
	"cost.per_1000_uploads":         "estimated AWS cost per 1000 uploads, USD",
	"delivery.failures":             "handler invocations that failed (retried or not)",
	"regions.lag.p50":               "worst median replication lag over region pairs, seconds",
	"regions.lag.p99":               "worst 99th percentile replication lag over region pairs, seconds",
	"regions.lag.max":               "largest replication lag of any region pair, seconds",
	"regions.lag.recovered_p99":     "99th percentile replication lag of versions committed after the last regional outage ended, seconds",
	"regions.staleness.p99":         "99th percentile of how long a non-home read was behind home, seconds",
	"regions.stale_share":           "share of non-home reads older than the home head",
	"regions.refused":               "uploads refused because their home region was unreachable",
	"regions.replication_failed":    "replication events whose attempts ran out",
}

// isTimeMetric reports whether a metric is in seconds (a gate on it may use
// a duration).
func isTimeMetric(m string) bool {
	return strings.HasPrefix(m, "latency.") || strings.HasPrefix(m, "scheduler.lateness.") ||
		strings.HasPrefix(m, "regions.lag.") || m == "regions.staleness.p99"
}

// gateError is a malformed gate; it wraps ErrInvalid.
type gateError string

func (e gateError) Error() string { return string(e) }
func (e gateError) Unwrap() error { return ErrInvalid }

// ParseGate parses "METRIC OP VALUE". Errors wrap ErrInvalid.
func ParseGate(expr string) (Gate, error) {
	s := strings.TrimSpace(expr)
	i := strings.IndexAny(s, "<>=!")
	if i < 0 {
		return Gate{}, gateError("missing comparison (one of < <= > >= == !=)")
	}
	op := s[i : i+1]
	if i+1 < len(s) && s[i+1] == '=' {
		op = s[i : i+2]
	}
	switch op {
	case "<", "<=", ">", ">=", "==", "!=":
	case "=":
		return Gate{}, gateError(`use "==" to compare for equality`)
	default:
		return Gate{}, gateError(fmt.Sprintf("bad operator %q", op))
	}
	metric := strings.TrimSpace(s[:i])
	raw := strings.TrimSpace(s[i+len(op):])
	if metric == "" {
		return Gate{}, gateError("missing metric before " + op)
	}
	if _, ok := GateMetrics[metric]; !ok {
		return Gate{}, gateError(fmt.Sprintf("unknown metric %s%s", quote(metric), suggest(metric, sortedKeys(GateMetrics))))
	}
	if raw == "" {
		return Gate{}, gateError("missing value after " + op)
	}
	if strings.ContainsAny(raw, "<>=!") {
		return Gate{}, gateError("only one comparison per gate")
	}
	val, err := gateValue(metric, raw)
	if err != nil {
		return Gate{}, err
	}
	return Gate{Expr: s, Metric: metric, Op: op, Value: val}, nil
}

func gateValue(metric, raw string) (float64, error) {
	var f float64
	var err error
	switch {
	case strings.HasSuffix(raw, "%"):
		f, err = strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(raw, "%")), 64)
		f /= 100
	default:
		f, err = strconv.ParseFloat(raw, 64)
		if errors.Is(err, strconv.ErrRange) {
			return 0, gateError(fmt.Sprintf("value %s is not a finite number", quote(raw)))
		}
		if err != nil {
			d, derr := ParseDuration(raw)
			if derr != nil {
				return 0, gateError(fmt.Sprintf("value %s is not a number or duration", quote(raw)))
			}
			if !isTimeMetric(metric) {
				return 0, gateError(fmt.Sprintf("%s is not a time; value %s must be a plain number", metric, quote(raw)))
			}
			f, err = d.Seconds(), nil
		}
	}
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, gateError(fmt.Sprintf("value %s is not a finite number", quote(raw)))
	}
	return f, nil
}

// Eval reports whether the measured value x passes the gate. NaN (a metric
// with no samples) never passes: gates fail closed.
func (g Gate) Eval(x float64) bool {
	if math.IsNaN(x) {
		return false
	}
	switch g.Op {
	case "<":
		return x < g.Value
	case "<=":
		return x <= g.Value
	case ">":
		return x > g.Value
	case ">=":
		return x >= g.Value
	case "==":
		return x == g.Value
	case "!=":
		return x != g.Value
	}
	return false
}

func (g Gate) String() string { return g.Expr }

func (v *validator) gates(sc *Scenario) {
	if len(sc.Gates) > 1000 {
		v.errorf("gates", "at most 1000 gates, got %d", len(sc.Gates))
		return
	}
	sc.ParsedGates = make([]Gate, 0, len(sc.Gates))
	for i, expr := range sc.Gates {
		g, err := ParseGate(expr)
		if err != nil {
			v.errorf(fmt.Sprintf("gates[%d]", i), "%v, got %s", err, quote(expr))
			continue
		}
		sc.ParsedGates = append(sc.ParsedGates, g)
	}
}
