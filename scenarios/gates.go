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

// isTimeMetric reports whether a metric is in seconds (a gate on it may use
// a duration).
func isTimeMetric(name string) bool {
	m, _ := LookupMetric(name)
	return m.Kind == KindTime
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
	if _, ok := LookupMetric(metric); !ok {
		return Gate{}, gateError(fmt.Sprintf("unknown metric %s%s", quote(metric), suggest(metric, MetricNames())))
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
