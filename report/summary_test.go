package report

import (
	"bytes"
	"strings"
	"testing"
)

func TestSummary_Fixture_Golden(t *testing.T) {
	var buf bytes.Buffer
	if err := Summary(&buf, fixture(t)); err != nil {
		t.Fatal(err)
	}
	golden(t, "summary.golden", buf.Bytes())
}

func TestSummary_Minimal_Golden(t *testing.T) {
	// A pass without scheduler, harness or cost: optional blocks vanish.
	r := &Results{Verdict: Pass, Scenario: "smoke", Seed: 7, Rerun: "simrun --seed 7 smoke.yaml",
		Uploads: Uploads{Total: 10, Committed: 10}}
	var buf bytes.Buffer
	if err := Summary(&buf, r); err != nil {
		t.Fatal(err)
	}
	golden(t, "summary-minimal.golden", buf.Bytes())
}

func TestSummary_Fixture_Order(t *testing.T) {
	var buf bytes.Buffer
	if err := Summary(&buf, fixture(t)); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	// The verdict and its reasons come first, the rerun line last.
	order := []string{"verdict: FAIL", "gate latency.p99 < 2s failed", "uploads", "polls per upload",
		"latency", "throughput", "invariants", "gates", "scheduler (rearm)", "theory (uniform)",
		"fixed-5m", "harness:", "cost:", "rerun: simrun --seed 42"}
	at := 0
	for _, s := range order {
		i := strings.Index(out[at:], s)
		if i < 0 {
			t.Fatalf("%q missing or out of order in:\n%s", s, out)
		}
		at += i
	}
	// At most five example ids per invariant.
	if strings.Contains(out, "u-000106") || !strings.Contains(out, "(2 more)") {
		t.Errorf("examples not capped at %d:\n%s", maxExamples, out)
	}
}

func TestSeconds(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{0, "0s"}, {0.00000042, "420ns"}, {0.00085, "850µs"}, {0.0123, "12.3ms"}, {0.12, "120ms"},
		{1.25, "1.25s"}, {59.4, "59.4s"}, {125, "2m05s"}, {7380, "2h03m"}, {-0.5, "-500ms"},
	}
	for _, tt := range tests {
		if got := seconds(tt.in); got != tt.want {
			t.Errorf("seconds(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestBytesIEC(t *testing.T) {
	tests := []struct {
		in   int64
		want string
	}{{0, "0B"}, {512, "512B"}, {1536, "1.5KiB"}, {125829120, "120MiB"}, {1288490188, "1.2GiB"}}
	for _, tt := range tests {
		if got := bytesIEC(tt.in); got != tt.want {
			t.Errorf("bytesIEC(%d) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestGateValue_UnitsAsWritten(t *testing.T) {
	tests := []struct {
		gate Gate
		want string
	}{
		{Gate{Expr: "uploads.conflict_rate < 30%", Value: 0.0812}, "8.1%"},
		{Gate{Expr: "latency.p99 < 30s", Value: 29.982719}, "29.98s"},
		{Gate{Expr: "shard 1: latency.p99 < 30s", Value: 29.982719}, "29.98s"},
		{Gate{Expr: "polls.mean <= 1.5", Value: 0.84}, "0.84"},
		{Gate{Expr: "errors.unavailable == 0", NoData: true}, "no data"},
	}
	for _, tt := range tests {
		if got := gateValue(tt.gate); got != tt.want {
			t.Errorf("gateValue(%s = %v) = %q, want %q", tt.gate.Expr, tt.gate.Value, got, tt.want)
		}
	}
}

// A scheduler-only run has no uploads: no section of zeros.
func TestSummary_SchedulerOnly_NoUploadSections(t *testing.T) {
	r := fixture(t)
	r.Uploads, r.Polls, r.Latency, r.Phases, r.Throughput = Uploads{}, Polls{}, Latency{}, PhaseLatency{}, Throughput{}
	var text, page bytes.Buffer
	if err := Summary(&text, r); err != nil {
		t.Fatal(err)
	}
	if err := HTML(&page, r, nil); err != nil {
		t.Fatal(err)
	}
	for _, absent := range []string{"uploads  total", "polls per upload", "planned -> outcome known", "throughput  planned/s"} {
		if strings.Contains(text.String(), absent) {
			t.Errorf("summary shows %q for a scheduler-only run:\n%s", absent, text.String())
		}
	}
	if !strings.Contains(text.String(), "scheduler (rearm)") {
		t.Errorf("summary lacks the scheduler:\n%s", text.String())
	}
	for _, absent := range []string{`id="latency-table"`, "<span>committed</span>", "<span>max in flight</span>"} {
		if strings.Contains(page.String(), absent) {
			t.Errorf("report.html shows %q for a scheduler-only run", absent)
		}
	}

	// The same run with uploads keeps every section.
	text.Reset()
	if err := Summary(&text, fixture(t)); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text.String(), "polls per upload") {
		t.Error("a run with uploads lost its polls section")
	}
}
