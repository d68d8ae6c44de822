package scenarios

import (
	"errors"
	"strings"
	"testing"
)

// aliasBomb is the "billion laughs" shape aimed at a field the decoder
// follows (a mix nests distributions).
func aliasBomb() string {
	var b strings.Builder
	b.WriteString(base)
	b.WriteString("sizes:\n  kind: mix\n  mix:\n    - &a0 {weight: 1, kind: fixed, value: 1}\n")
	for i := 1; i < 10; i++ {
		b.WriteString("    - &a" + string(rune('0'+i)) + " {weight: 1, kind: mix, mix: [")
		for j := 0; j < 10; j++ {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString("*a" + string(rune('0'+i-1)))
		}
		b.WriteString("]}\n")
	}
	return b.String()
}

func TestParse_Hostile(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want string // substring of the error
	}{
		{"alias bomb", aliasBomb(), "too many nodes"},
		{"deep flow nesting", base + "gates: " + strings.Repeat("[", 100_000) + strings.Repeat("]", 100_000) + "\n", ""},
		{"deep block nesting", base + "sizes:\n" + strings.Repeat("  mix:\n", 1), ""},
		{"self alias", base + "gates: &g [*g]\n", ""},
		{"huge float", "phases: [{kind: constant, rate: 1e308, duration: 1s}]\n", "must be <= 1000000"},
		{"huge duration", base + "drain: 9999999999h\n", "must be a duration"},
		{"huge days", base + "drain: 99999999999d\n", "must be a duration"},
		{"many errors", strings.Repeat("x: 1\n", 100), "duplicate field"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The decoder's work is bounded by its node budget ("too many
			// nodes" above), not timed here: a wall-clock bound fails on a
			// busy machine and proves nothing a count does not.
			_, err := Parse("x.yaml", []byte(tt.yaml))
			if err == nil {
				t.Fatal("Parse succeeded")
			}
			if !errors.Is(err, ErrInvalid) || strings.Contains(err.Error(), "internal error") {
				t.Fatalf("error = %v", err)
			}
			if tt.want != "" && !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %.300s, want it to contain %q", err, tt.want)
			} else {
				t.Logf("%.200s", err)
			}
			if n := strings.Count(err.Error(), "\n") + 1; n > maxErrors {
				t.Errorf("%d errors reported, want at most %d", n, maxErrors)
			}
		})
	}
}

func FuzzLoad(f *testing.F) {
	for _, name := range BuiltinNames() {
		data, _ := Builtin(name)
		f.Add(data)
	}
	f.Add([]byte(base))
	f.Add([]byte(aliasBomb()))
	f.Add([]byte(base + "sizes: {kind: mix, mix: [{weight: 1, kind: pareto, alpha: 1, scale: 1, cap: 9}]}\n"))
	f.Add([]byte("model: closed\nclosed: {devices: 2, iterations: 1, think: {kind: normal, mean: 1s, stddev: 2}}\n"))
	f.Add([]byte("scheduler: {days: 0.5d, compare: [one-shot]}\ngates: ['scheduler.lateness.p99 <= 75s']\n"))
	f.Add([]byte(base + "wait:\n  push_delay:\n    <<: [*a, *b]\n"))
	f.Add([]byte("%YAML 1.1\n---\n!!map {? a : b}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		sc, err := Parse("f.yaml", data)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error does not wrap ErrInvalid: %v", err)
			}
			if strings.Contains(err.Error(), "internal error") {
				t.Fatalf("panic: %v", err)
			}
			if !strings.HasPrefix(err.Error(), "f.yaml") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if sc == nil || len(sc.ParsedGates) != len(sc.Gates) {
			t.Fatalf("bad result %+v", sc)
		}
	})
}

func FuzzParseGate(f *testing.F) {
	for _, s := range []string{"polls.mean <= 1.2", "latency.p99 < 2s", "uploads.conflict_rate != 5%",
		"a", "<=", "x ==", "scheduler.lateness.p99 <= 1d", "invariants.violations == 0 == 1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		g, err := ParseGate(s)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error does not wrap ErrInvalid: %v", err)
			}
			return
		}
		if _, ok := GateMetrics[g.Metric]; !ok {
			t.Fatalf("unknown metric accepted: %+v", g)
		}
		g2, err := ParseGate(g.Metric + " " + g.Op + " " + formatFloat(g.Value))
		if err != nil || g2.Metric != g.Metric || g2.Op != g.Op || g2.Value != g.Value {
			t.Fatalf("round trip of %+v: %+v, %v", g, g2, err)
		}
	})
}
