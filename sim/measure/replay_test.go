package measure

import (
	"testing"
	"time"

	"github.com/stormsim/stormsim/sim/history"
)

// TestReplay_Uploads: a history replayed counts each upload once, in
// flight from its start to its end (one ending as another starts is not
// in flight with it), with the decision instant of its record.
func TestReplay_Uploads(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	up := func(id string, start, done int, o history.Outcome) history.Upload {
		return history.Upload{T: history.KindUpload, ID: id, Outcome: o, Size: 5, Polls: 1,
			Intended: at(start), Start: at(start), Staged: at(start + 10), Done: at(done)}
	}
	set := &history.Set{
		// Listed out of order, as merged shards are.
		Uploads: []history.Upload{up("c", 1500, 2500, history.OutcomeError), up("a", 0, 1200, history.OutcomeCommitted),
			up("b", 1200, 1400, history.OutcomeConflict)},
		Commits:   []history.Commit{{ID: "a", At: at(100)}},
		Conflicts: []history.Conflict{{ID: "b", At: at(1390)}},
	}
	s := Replay(t0, set).Snapshot()
	if s.Outcomes[history.OutcomeCommitted] != 1 || s.Outcomes[history.OutcomeConflict] != 1 || s.Outcomes[history.OutcomeError] != 1 {
		t.Errorf("outcomes %v", s.Outcomes)
	}
	if s.MaxInFlight != 1 || s.InFlight != 0 {
		t.Errorf("max in flight %d, in flight %d; want 1, 0 (b starts as a ends)", s.MaxInFlight, s.InFlight)
	}
	if n := s.Phases[2].TotalCount(); n != 2 {
		t.Errorf("%d decision phases, want 2 (a and b have records)", n)
	}
	if got, want := s.Phases[2].Max(), int64(180_000); got < want-1000 || got > want+1000 {
		t.Errorf("longest decision phase %dus, want about %dus (b: staged at 1210ms, decided at 1390ms)", got, want)
	}
	if len(s.Series) != 3 || s.Series[0].Started != 1 || s.Series[1].Started != 2 || s.Series[1].Planned != 2 || s.Series[2].Errors != 1 {
		t.Errorf("series %+v", s.Series)
	}
	if s.Latency.TotalCount() != 2 || s.Bytes != 15 {
		t.Errorf("latency n %d bytes %d; want 2 (errors excluded), 15", s.Latency.TotalCount(), s.Bytes)
	}
}
