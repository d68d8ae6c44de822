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
