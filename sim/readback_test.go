package sim

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"

	"github.com/stormsim/stormsim/coordinator"
	"github.com/stormsim/stormsim/scenarios"
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
	run, err := SelfTestCase{Name: RealName, Scenario: ScenarioRetry}.Run(context.Background(), dir)
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

// TestRunner_ResultTTL: the TTL the read-back states is the coordinator's
// in whole seconds, less the embedded Redis clock's jumps, at least 1s.
func TestRunner_ResultTTL(t *testing.T) {
	jump := func(d time.Duration) scenarios.Fault { return scenarios.Fault{Kind: FaultRedisClockJump, Jump: d} }
	tests := []struct {
		name     string
		ttl      time.Duration
		faults   []scenarios.Fault
		embedded bool
		step     time.Duration // the embedded clock's longest step
		want     time.Duration
	}{
		{"default", 0, nil, true, 0, 24 * time.Hour},
		{"whole seconds", 90*time.Second + 900*time.Millisecond, nil, true, 0, 90 * time.Second},
		{"clock jumps", 2 * time.Minute, []scenarios.Fault{jump(30 * time.Second), {Kind: FaultS3Error}, jump(time.Minute)}, true, 0, 30 * time.Second},
		{"jumps past the TTL", 2 * time.Minute, []scenarios.Fault{jump(time.Hour)}, true, 0, time.Second},
		{"jumps skipped on a real Redis", 2 * time.Minute, []scenarios.Fault{jump(30 * time.Second)}, false, 0, 2 * time.Minute},
		// Found in a 1,000,000-upload run: results expired ~1.1s before
		// their TTL, as the clock advanced in 1-2s steps.
		{"the embedded clock's longest step", 2 * time.Minute, nil, true, 1500 * time.Millisecond, 118500 * time.Millisecond},
		{"steps do not apply to a real Redis", 2 * time.Minute, nil, false, 1500 * time.Millisecond, 2 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := coordinator.New(coordinator.Config{Bucket: "b", Now: time.Now, ResultTTL: tt.ttl}, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			env := &Env{}
			env.maxClockStep.Store(int64(tt.step))
			if tt.embedded {
				env.MR = &miniredis.Miniredis{}
			}
			if tt.faults != nil {
				env.faults = newFaultSet(tt.faults, 1, time.Now, nil)
			}
			r := &runner{coord: c, env: env}
			if got := r.resultTTL(); got != tt.want {
				t.Errorf("resultTTL() = %s, want %s", got, tt.want)
			}
		})
	}
}
