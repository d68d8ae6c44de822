package selftest

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stormsim/stormsim/sim/checker"
	"github.com/stormsim/stormsim/sim/history"
)

// TestRun_ReadsBackEveryAnsweredResult: after the drain the run writes one
// result record per answered upload, each found and stating what its device
// was told, and stability reports having compared them.
func TestRun_ReadsBackEveryAnsweredResult(t *testing.T) {
	if testing.Short() {
		t.Skip("a self-test run takes a few seconds")
	}
	dir := t.TempDir()
	run, err := Case{Name: RealName, Scenario: ScenarioRetry}.Run(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(dir, "history.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s, err := history.Read(f)
	if err != nil {
		t.Fatal(err)
	}
	back := map[string][]history.Result{}
	for _, r := range s.Results {
		back[r.ID] = append(back[r.ID], r)
	}
	answered := 0
	for _, u := range s.Uploads {
		rs := back[u.ID]
		switch u.Outcome {
		case history.OutcomeCommitted, history.OutcomeConflict, history.OutcomeRejected:
		default:
			if len(rs) != 0 {
				t.Errorf("%s: outcome %s, read back %+v", u.ID, u.Outcome, rs)
			}
			continue
		}
		answered++
		if len(rs) != 1 {
			t.Errorf("%s: %d result records", u.ID, len(rs))
			continue
		}
		r := rs[0]
		// The stated TTL is the 24h default less the time since the result
		// was written (at most since the upload started: a starved machine
		// stretches it) and the embedded clock's longest step (resultTTL).
		minTTL := 24*60*60 - int64(r.At.Sub(u.Start).Seconds()) - 5
		if !r.Found || r.State != u.Outcome || r.Version != u.Version || r.User != u.User || r.Error != "" ||
			r.TTLSeconds > 24*60*60 || r.TTLSeconds < minTTL || r.At.Before(u.Done) {
			t.Errorf("%s: device %s v%d, read back %+v", u.ID, u.Outcome, u.Version, r)
		}
	}
	if answered == 0 || len(s.Results) != answered {
		t.Errorf("%d result records for %d answered uploads", len(s.Results), answered)
	}
	st, _ := run.Upload.Check.Find(checker.NameStability)
	if !st.OK {
		t.Errorf("stability: %+v", st)
	}
	t.Logf("stability: %s", st.Detail)
}
