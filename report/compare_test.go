package report

import (
	"bytes"
	"strings"
	"testing"
)

// candidate is the fixture with a faster, conflict-free candidate run.
func candidate(t *testing.T) *Results {
	r := fixture(t)
	r.Verdict, r.Reasons = Pass, nil
	r.Strategy = "conditional-put"
	r.Latency.P99 = 1.2
	r.Latency.P50 = 0.12 // unchanged
	r.Polls.ZeroShare = 0.6
	r.Uploads.Error = 0
	for i := range r.Invariants {
		r.Invariants[i].Violations = 0
	}
	r.Cost.Per1000 = 0.0009
	r.Harness = nil // compared only when both runs have it
	return r
}

func TestCompare_Fixture_Golden(t *testing.T) {
	var buf bytes.Buffer
	if err := Compare(&buf, fixture(t), candidate(t)); err != nil {
		t.Fatal(err)
	}
	golden(t, "compare.golden", buf.Bytes())
}

func TestCompare_Fixture_Verdicts(t *testing.T) {
	var buf bytes.Buffer
	if err := Compare(&buf, fixture(t), candidate(t)); err != nil {
		t.Fatal(err)
	}
	lines := map[string]string{}
	for _, l := range strings.Split(buf.String(), "\n") {
		for _, name := range []string{"latency p99 ", "latency p50 ", "resolved by push ", "errors "} {
			if strings.HasPrefix(l, name) {
				lines[name] = l
			}
		}
	}
	tests := []struct{ line, want string }{
		{"latency p99 ", "better"}, {"resolved by push ", "better"}, {"errors ", "better"},
	}
	for _, tt := range tests {
		if !strings.HasSuffix(strings.TrimSpace(lines[tt.line]), tt.want) {
			t.Errorf("%q: got %q, want it to end in %q", tt.line, lines[tt.line], tt.want)
		}
	}
	if l := lines["latency p50 "]; !strings.Contains(l, "=") {
		t.Errorf("unchanged figure not marked equal: %q", l)
	}
}

func TestCompareHTML_Fixture_Sections(t *testing.T) {
	var buf bytes.Buffer
	if err := CompareHTML(&buf, fixture(t), candidate(t)); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`id="runs"`, `id="comparison"`, `class="better"`, "conditional-put"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("comparison page lacks %q", want)
		}
	}
}

// Runs of another scenario, rate or workload are shown side by side but
// never labelled better or worse.
func TestCompare_NotComparable_NoJudgement(t *testing.T) {
	tests := []struct {
		name   string
		change func(c *Results)
		want   string // "" when comparable
	}{
		{"same workload, other strategy", func(c *Results) {}, ""},
		{"other scenario", func(c *Results) { c.Scenario = "steady" }, "different scenarios (burst vs steady)"},
		{"other planned rate", func(c *Results) { c.Throughput.PlannedRate *= 2 }, "different planned rates"},
		{"other workload", func(c *Results) { c.Seed, c.WorkloadHash = 7, "0123456789abcdef" }, "different workloads (hash 9f3c2a7be1d0 vs 0123456789ab, seed 42 vs 7)"},
		{"other seed, no hashes", func(c *Results) { c.Seed = 7; c.WorkloadHash = "" }, "different seeds (42 vs 7)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cand := candidate(t)
			tt.change(cand)
			var text, page bytes.Buffer
			if err := Compare(&text, fixture(t), cand); err != nil {
				t.Fatal(err)
			}
			if err := CompareHTML(&page, fixture(t), cand); err != nil {
				t.Fatal(err)
			}
			out := text.String()
			judged := false
			for _, l := range strings.Split(out, "\n") {
				l = strings.TrimSpace(l)
				judged = judged || strings.HasSuffix(l, " better") || strings.HasSuffix(l, " worse")
			}
			if tt.want == "" {
				if strings.Contains(out, "NOT COMPARABLE") || !judged {
					t.Errorf("comparable runs not judged:\n%s", out)
				}
				return
			}
			if !strings.Contains(out, "NOT COMPARABLE: ") || !strings.Contains(out, tt.want) {
				t.Errorf("output lacks %q:\n%s", tt.want, out)
			}
			if judged {
				t.Errorf("runs that are not comparable labelled better/worse:\n%s", out)
			}
			if p := page.String(); !strings.Contains(p, `id="not-comparable"`) || strings.Contains(p, `class="better"`) || strings.Contains(p, `class="worse"><`) {
				t.Errorf("comparison page judges runs that are not comparable")
			}
		})
	}
}
