package measure

import (
	"math"
	"runtime/metrics"
	"testing"
	"time"
)

// TestSchedQuantiles_Diff: the scheduler latency figures count only what
// happened since the start, at bucket upper bounds.
func TestSchedQuantiles_Diff(t *testing.T) {
	h := &metrics.Float64Histogram{Buckets: []float64{0, 0.001, 0.01, 0.1, math.Inf(1)}, Counts: []uint64{100, 0, 0, 5}}
	before := []uint64{100, 0, 0, 0}
	tests := []struct {
		name   string
		h      *metrics.Float64Histogram
		before []uint64
		want   Quantiles
	}{
		{"only the run's samples", &metrics.Float64Histogram{Buckets: h.Buckets, Counts: []uint64{190, 8, 2, 0}}, before,
			Quantiles{Count: 100, P50: 0.001, P99: 0.1, Max: 0.1}},
		{"last bucket is open: its lower bound", h, before, Quantiles{Count: 5, P50: 0.1, P99: 0.1, Max: 0.1}},
		{"nothing since the start", h, h.Counts, Quantiles{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := schedQuantiles(tt.h, tt.before); got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestSaturationMeter_End_Figures: launch lag and timer lateness make the
// harness lag together; the other waits are kept apart.
func TestSaturationMeter_End_Figures(t *testing.T) {
	m := NewMeter()
	start := time.Now()
	m.Begin(start)
	for i := range 100 {
		m.Launch.Add(time.Duration(i) * time.Millisecond)
		m.Timer.Add(time.Second)
		m.Queue.Add(3 * time.Second)
	}
	s := m.End(start.Add(time.Second), Placement{Embedded: true})
	if s.LaunchLag.Count != 100 || s.TimerLateness.Count != 100 || s.Lag.Count != 200 {
		t.Fatalf("counts %+v", s)
	}
	if s.LaunchLag.Max < 0.098 || s.LaunchLag.Max > 0.1 || s.Lag.P99 < 0.99 || s.Lag.P99 > 1.01 {
		t.Errorf("launch lag %+v, lag %+v", s.LaunchLag, s.Lag)
	}
	if s.EventQueueWait.P50 < 2.99 || s.RedisWait.Count != 0 || !s.Embedded || s.CPUs < 1 {
		t.Errorf("figures %+v", s)
	}
}
