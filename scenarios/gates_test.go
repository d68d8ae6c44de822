package scenarios

import (
	"errors"
	"math"
	"sort"
	"strings"
	"testing"
)

func TestParseGate(t *testing.T) {
	tests := []struct {
		expr    string
		want    Gate
		wantErr string
	}{
		{expr: "polls.mean <= 1.2", want: Gate{Metric: "polls.mean", Op: "<=", Value: 1.2}},
		{expr: "latency.p99 < 2s", want: Gate{Metric: "latency.p99", Op: "<", Value: 2}},
		{expr: "latency.p50<250ms", want: Gate{Metric: "latency.p50", Op: "<", Value: 0.25}},
		{expr: "invariants.violations == 0", want: Gate{Metric: "invariants.violations", Op: "==", Value: 0}},
		{expr: "throughput.achieved_ratio >= 0.95", want: Gate{Metric: "throughput.achieved_ratio", Op: ">=", Value: 0.95}},
		{expr: "throughput.achieved_ratio >= 95%", want: Gate{Metric: "throughput.achieved_ratio", Op: ">=", Value: 0.95}},
		{expr: "scheduler.lateness.p99 <= 75s", want: Gate{Metric: "scheduler.lateness.p99", Op: "<=", Value: 75}},
		{expr: "scheduler.early == 0", want: Gate{Metric: "scheduler.early", Op: "==", Value: 0}},
		{expr: "  uploads.error != 3 ", want: Gate{Metric: "uploads.error", Op: "!=", Value: 3}},
		{expr: "cost.per_1000_uploads > 1e-3", want: Gate{Metric: "cost.per_1000_uploads", Op: ">", Value: 0.001}},
		{expr: "polls.mean", wantErr: "missing comparison (one of < <= > >= == !=)"},
		{expr: "polls.mean = 1", wantErr: `use "==" to compare for equality`},
		{expr: "polls.mean =< 1", wantErr: `use "==" to compare for equality`},
		{expr: "polls.mean ! 1", wantErr: `bad operator "!"`},
		{expr: "<= 1", wantErr: "missing metric before <="},
		{expr: "polls.mean <=", wantErr: "missing value after <="},
		{expr: "polls.meen <= 1", wantErr: `unknown metric "polls.meen" (did you mean "polls.mean"?)`},
		{expr: "0 < polls.mean < 2", wantErr: `unknown metric "0"`},
		{expr: "polls.mean < 2 < 3", wantErr: "only one comparison per gate"},
		{expr: "polls.mean < two", wantErr: `value "two" is not a number or duration`},
		{expr: "polls.mean < 2s", wantErr: `polls.mean is not a time; value "2s" must be a plain number`},
		{expr: "polls.mean < NaN", wantErr: `value "NaN" is not a finite number`},
		{expr: "polls.mean < 1e999", wantErr: `value "1e999" is not a finite number`},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			g, err := ParseGate(tt.expr)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				if !errors.Is(err, ErrInvalid) {
					t.Error("error does not wrap ErrInvalid")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.want.Expr = strings.TrimSpace(tt.expr)
			if g != tt.want {
				t.Errorf("got %+v, want %+v", g, tt.want)
			}
		})
	}
}

func TestGate_Eval(t *testing.T) {
	tests := []struct {
		op   string
		x    float64
		want bool
	}{
		{"<", 1, true}, {"<", 2, false},
		{"<=", 2, true}, {"<=", 3, false},
		{">", 3, true}, {">", 2, false},
		{">=", 2, true}, {">=", 1, false},
		{"==", 2, true}, {"==", 1, false},
		{"!=", 1, true}, {"!=", 2, false},
		{"<", math.NaN(), false}, {"!=", math.NaN(), false},
	}
	for _, tt := range tests {
		g := Gate{Metric: "polls.mean", Op: tt.op, Value: 2}
		if got := g.Eval(tt.x); got != tt.want {
			t.Errorf("%v %s 2 = %v, want %v", tt.x, tt.op, got, tt.want)
		}
	}
}

// TestGateMetrics_README keeps README.md's metric table in step.
func TestGateMetrics_README(t *testing.T) {
	data, err := readFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, 0, len(GateMetrics))
	for name := range GateMetrics {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if !strings.Contains(data, "| `"+name+"` |") {
			t.Errorf("README.md does not document gate metric %s", name)
		}
	}
}
