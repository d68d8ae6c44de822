package report

import (
	"testing"
	"time"

	"github.com/stormsim/stormsim/sim/measure"
)

func TestAddFaultWindows_BeforeDuringAfter(t *testing.T) {
	var series []measure.Second
	for i := range 10 {
		s := measure.Second{Started: 10, Committed: 10}
		lat := 10 * time.Millisecond
		if i >= 4 && i < 6 { // the fault: slower, and errors
			s.Committed, s.Errors, lat = 6, 4, 2*time.Second
		}
		for range 10 {
			s.Latency.Add(lat)
		}
		series = append(series, s)
	}
	r := &Results{}
	for i, s := range series {
		r.Series = append(r.Series, Sample{Second: float64(i), Committed: s.Committed})
	}
	m := measure.Snapshot{Series: series, Reconciled: 3, Faults: []measure.FaultSpan{
		{Kind: "redis-outage", From: 4*time.Second + 3*time.Millisecond, To: 6*time.Second + 2*time.Millisecond, Injected: 1},
		{Kind: "push-outage", From: 0, To: 2 * time.Second},
		{Kind: "event-drop", From: 9 * time.Second, To: 10 * time.Second},
	}}
	addFaultWindows(r, m)
	if r.Reconciled != 3 || len(r.Faults) != 3 {
		t.Fatalf("reconciled %d, %d windows", r.Reconciled, len(r.Faults))
	}
	w := r.Faults[0]
	if w.Before == nil || w.During == nil || w.After == nil {
		t.Fatalf("window %+v lacks a span", w)
	}
	if w.Before.From != 2 || w.Before.To != 4 || w.During.From != 4 || w.During.To != 6 || w.After.To != 8 {
		t.Errorf("spans before %v-%v during %v-%v after %v-%v", w.Before.From, w.Before.To, w.During.From, w.During.To, w.After.From, w.After.To)
	}
	if w.During.ErrorRate != 0.4 || w.Before.ErrorRate != 0 || w.During.CommitsPerSecond != 6 || w.After.UploadsPerSecond != 10 {
		t.Errorf("during %+v, before %+v, after %+v", w.During, w.Before, w.After)
	}
	if w.During.LatencyP99 < 1.9 || w.During.LatencyP99 > 2.0 || w.Before.LatencyMax > 0.011 {
		t.Errorf("latency during p99 %v, before max %v", w.During.LatencyP99, w.Before.LatencyMax)
	}
	if r.Faults[1].Before != nil || r.Faults[2].After != nil {
		t.Errorf("a window at the run's edge has a span outside it: %+v %+v", r.Faults[1], r.Faults[2])
	}
	if r.Series[5].LatencyMean != 2 {
		t.Errorf("series latency mean %v, want 2", r.Series[5].LatencyMean)
	}
}
