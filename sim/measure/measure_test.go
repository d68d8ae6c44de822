package measure

import (
	"testing"
	"time"

	"github.com/stormsim/stormsim/sim/history"
)

// TestRecorder_Snapshot_InFlightAfterArrivalsStop replays a burst that
// starts in second 0 and ends over seconds 1..5, with nothing at all
// happening in seconds 2 and 4: the in-flight series must stay up until
// the last upload ends, not drop to 0 once the arrivals stop.
func TestRecorder_Snapshot_InFlightAfterArrivalsStop(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(sec float64) time.Time { return start.Add(time.Duration(sec * float64(time.Second))) }
	r := NewRecorder(start)
	for range 10 {
		r.Started(at(0.5))
	}
	end := func(sec float64) {
		u := &history.Upload{Outcome: history.OutcomeCommitted, Intended: at(0.5), Start: at(0.5), Staged: at(0.6), Done: at(sec)}
		r.Finished(u, time.Time{}, "")
	}
	for range 4 {
		end(1.5)
	}
	for range 5 {
		end(3.5)
	}
	end(5.5)

	s := r.Snapshot()
	tests := []struct {
		second            int
		inFlight, planned int64
	}{
		{0, 10, 10}, // all started
		{1, 10, 0},  // ten in flight until the first four ended
		{2, 6, 0},   // nothing happened: six still in flight
		{3, 6, 0},   // six until five ended
		{4, 1, 0},   // one left
		{5, 1, 0},   // the last one ends
	}
	if len(s.Series) != len(tests) {
		t.Fatalf("series has %d seconds, want %d", len(s.Series), len(tests))
	}
	for _, tt := range tests {
		got := s.Series[tt.second]
		if got.InFlight != tt.inFlight || got.Planned != tt.planned {
			t.Errorf("second %d: in flight %d, planned %d; want %d, %d", tt.second, got.InFlight, got.Planned, tt.inFlight, tt.planned)
		}
	}
	if s.InFlight != 0 || s.MaxInFlight != 10 {
		t.Errorf("in flight %d, max %d; want 0, 10", s.InFlight, s.MaxInFlight)
	}
}
