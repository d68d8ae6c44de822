package model

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stormsim/stormsim/scenarios"
)

var (
	callsOnce sync.Once
	calls     *Sequences
	callsErr  error
)

func recorded(t *testing.T) *Sequences {
	t.Helper()
	callsOnce.Do(func() { calls, callsErr = RecordEmbedded(context.Background()) })
	if callsErr != nil {
		t.Fatal(callsErr)
	}
	return calls
}

func builtin(t *testing.T, name string) *scenarios.Scenario {
	t.Helper()
	data, ok := scenarios.Builtin(name)
	if !ok {
		t.Fatalf("no built-in scenario %s", name)
	}
	sc, err := scenarios.Parse(name+".yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

func plan(t *testing.T, sc *scenarios.Scenario, profile string, seed uint64) *Result {
	t.Helper()
	p, err := LoadProfile(profile)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), Options{Scenario: sc, Seed: seed, Profile: p, Calls: recorded(t), Started: time.Unix(0, 0)})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// Virtual time: the same seed gives the same figures, however loaded the
// machine.
func TestRun_SameSeed_SameFigures(t *testing.T) {
	a := plan(t, builtin(t, "ci"), "embedded", 42)
	b := plan(t, builtin(t, "ci"), "embedded", 42)
	ma, mb := a.Run.Measure, b.Run.Measure
	if ma.Latency.Mean() != mb.Latency.Mean() || ma.Latency.Max() != mb.Latency.Max() ||
		ma.PollsHist.Mean() != mb.PollsHist.Mean() || a.Run.Elapsed != b.Run.Elapsed || a.Info.Events != b.Info.Events || a.Info.LockBusy != b.Info.LockBusy {
		t.Fatalf("two plans with seed 42 differ: latency mean %v/%v, elapsed %v/%v", ma.Latency.Mean(), mb.Latency.Mean(), a.Run.Elapsed, b.Run.Elapsed)
	}
	for k, v := range ma.Outcomes {
		if mb.Outcomes[k] != v {
			t.Fatalf("outcome %s: %d vs %d", k, v, mb.Outcomes[k])
		}
	}
	c := plan(t, builtin(t, "ci"), "embedded", 43)
	if c.Run.WorkloadHash == a.Run.WorkloadHash {
		t.Fatal("seed 43 planned the same workload as seed 42")
	}
}

// Every planned upload ends with an outcome, commits and conflicts come
// out of the decision rule, and the workload is the real run's.
func TestRun_CI_Accounts(t *testing.T) {
	sc := builtin(t, "ci")
	res := plan(t, sc, "embedded", 42)
	m := res.Run.Measure
	var total int64
	for _, n := range m.Outcomes {
		total += n
	}
	if total != res.Run.Planned || res.Run.Launched != res.Run.Planned || res.Run.Planned != 1100 {
		t.Fatalf("outcomes %d, launched %d, planned %d; want 1100 each", total, res.Run.Launched, res.Run.Planned)
	}
	if m.Outcomes["committed"] == 0 || m.Outcomes["conflict"] == 0 {
		t.Fatalf("want commits and conflicts (40%% of uploads hit one hot file), got %v", m.Outcomes)
	}
	if m.CommittedV2Plus == 0 || m.MaxVersion < 2 {
		t.Fatalf("versions: v2+ %d, max %d", m.CommittedV2Plus, m.MaxVersion)
	}
	if res.Info.LockBusy == 0 {
		t.Fatal("a burst of 300 with a hot file never found a lock busy")
	}
	if res.Run.Check.Pending != 0 {
		t.Fatalf("pending %d", res.Run.Check.Pending)
	}
}
