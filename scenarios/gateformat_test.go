package scenarios

import (
	"math"
	"testing"
)

func TestGate_FormatValue_UnitsAsWritten(t *testing.T) {
	tests := []struct {
		expr string
		x    float64
		want string
	}{
		{"latency.p99 < 30s", 29.982719, "29.98s"},
		{"latency.p99 < 30s", 29.9999, "29.9999s"}, // never shown as the threshold
		{"latency.p99 < 30s", 31, "31s"},
		{"latency.p50 <= 200ms", 0.1234567, "123.46ms"},
		{"latency.max < 2m", 90, "1.5m"},
		{"latency.max < 1m30s", 75.5, "75.5s"},
		{"uploads.conflict_rate < 30%", 0.0812, "8.1%"},
		{"polls.zero_share >= 50%", 0.4999, "49.99%"},
		{"polls.mean <= 1.5", 0.84, "0.84"},
		{"uploads.unknown == 0", 3, "3"},
		{"throughput.achieved_ratio >= 0.9", 0.8999, "0.8999"},
		{"latency.p99 < 2", 2.31, "2.31"},
		{"throughput.achieved_ratio >= 0.95", 0.982, "0.982"},
		{"polls.zero_share >= 99.5%", 0.99472, "99.47%"},
		{"uploads.unknown == 0", math.NaN(), "no data"},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			g, err := ParseGate(tt.expr)
			if err != nil {
				t.Fatal(err)
			}
			if got := g.FormatValue(tt.x); got != tt.want {
				t.Errorf("FormatValue(%v) = %q, want %q", tt.x, got, tt.want)
			}
		})
	}
}
