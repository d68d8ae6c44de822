package report

import (
	"slices"
	"sort"
	"testing"

	"github.com/stormsim/stormsim/scenarios"
	"github.com/stormsim/stormsim/sim"
)

// TestMetricReaders_Table_Same: report reads exactly the gate metrics of
// scenarios.Metrics, no more (a reader no gate can reach) and no fewer (a
// gate that would always read "no samples").
func TestMetricReaders_Table_Same(t *testing.T) {
	var readers []string
	for name := range metricReaders {
		readers = append(readers, name)
	}
	sort.Strings(readers)
	names := scenarios.MetricNames()
	for _, n := range names {
		if !slices.Contains(readers, n) {
			t.Errorf("gate metric %s has no reader in metricReaders", n)
		}
	}
	for _, n := range readers {
		if !slices.Contains(names, n) {
			t.Errorf("metricReaders reads %s, which is not in scenarios.Metrics", n)
		}
	}
}

// TestLiveGate_Table_Same: mid-run abort judges exactly the metrics the
// table marks Live (a Live metric without a progress reader fails here).
func TestLiveGate_Table_Same(t *testing.T) {
	for _, m := range scenarios.Metrics {
		if got := sim.LiveGate(scenarios.Gate{Metric: m.Name, Op: "<"}); got != m.Live {
			t.Errorf("sim.LiveGate(%s < x) = %v, table says Live = %v", m.Name, got, m.Live)
		}
	}
}

// TestLagDirection_Table: the saturation rule's direction comes from the
// table, and a correctness metric is never a speed metric.
func TestLagDirection_Table(t *testing.T) {
	tests := []struct {
		metric string
		dir    int
		speed  bool
	}{
		{"latency.p99", +1, true},
		{"scheduler.lateness.max", +1, true},
		{"cost.per_1000_uploads", +1, true},
		{"uploads.pending", +1, true},
		{"uploads.unknown", +1, true},
		{"throughput.achieved_ratio", -1, true},
		{"polls.mean", 0, true},
		{"invariants.violations", 0, false},
		{"uploads.committed", 0, false},
		{"errors.total", 0, false},
		{"no.such.metric", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.metric, func(t *testing.T) {
			dir, speed := lagDirection(tt.metric)
			if dir != tt.dir || speed != tt.speed {
				t.Errorf("lagDirection(%s) = %d, %v; want %d, %v", tt.metric, dir, speed, tt.dir, tt.speed)
			}
		})
	}
}
