package sim

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stormsim/stormsim/scenarios"
)

func TestAbortOnGates_Judge(t *testing.T) {
	gate := func(expr string) scenarios.Gate {
		g, err := scenarios.ParseGate(expr)
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	p := Progress{Elapsed: 3 * time.Second, Done: 50, Committed: 40, Conflict: 8, Errors: 2, Unknown: 1,
		LatencyMax: 1500 * time.Millisecond}
	tests := []struct {
		name string
		gate string
		stop bool
	}{
		{"counter under its bound", "uploads.committed <= 100", false},
		{"counter past its bound", "uploads.committed <= 39", true},
		{"equality not reached yet", "uploads.total == 60", false},
		{"equality passed for good", "uploads.unknown == 0", true},
		{"error excludes unknown", "uploads.error < 2", false},
		{"latency max past its bound", "latency.max < 1s", true},
		{"lower bound waits for the end", "uploads.committed >= 1000", false},
		{"quantile waits for the end", "latency.p99 < 1ms", false},
		{"invariants wait for the end", "invariants.violations == 0", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			why, stop := AbortOnGates([]scenarios.Gate{gate(tt.gate)})(p)
			if stop != tt.stop {
				t.Fatalf("%s: stop %v (%q), want %v", tt.gate, stop, why, tt.stop)
			}
			if stop && !strings.HasPrefix(why, `aborted: gate "`+tt.gate+`" failed at 3.0s`) {
				t.Errorf("reason %q", why)
			}
		})
	}
}

// abortScenario plans 400 uploads from 4 looping devices, so at most 4
// are in flight when the gate trips: each finishes well within the abort's
// grace however starved the machine, and the assertions are about
// outcomes (the arrivals stopped, every upload learned its outcome), never
// about how long anything took.
const abortScenario = `name: abort
seed: 5
drain: 10s
abort_on_fail: true
model: closed
closed: {devices: 4, iterations: 100, think: {kind: fixed, value: 10ms}}
population: {users: 50, files_per_user: 4}
sizes: {kind: fixed, value: 1KiB}
`

// A scenario with abort_on_fail stops at the first failed gate instead of
// running its whole plan.
func TestRun_AbortOnFail_StopsEarly(t *testing.T) {
	sc, err := scenarios.Parse("abort.yaml", []byte(abortScenario+`gates: ["uploads.committed <= 20", "invariants.violations == 0"]
`))
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), Options{Scenario: sc, Seed: sc.Seed, OutDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(res.Aborted, `aborted: gate "uploads.committed <= 20" failed at`) {
		t.Fatalf("Aborted = %q", res.Aborted)
	}
	// Not a wall-clock bound (a starved machine stretches every run): a run
	// that did not stop launches all its planned arrivals.
	if res.Planned != 400 || res.Launched >= res.Planned {
		t.Errorf("launched %d of %d: the arrivals did not stop", res.Launched, res.Planned)
	}
	if got := res.Measure.Outcomes["unknown"]; got != 0 {
		t.Errorf("%d uploads in flight at the abort never learned their outcome", got)
	}
	var ended int64
	for _, n := range res.Measure.Outcomes {
		ended += n
	}
	if ended != res.Launched {
		t.Errorf("%d outcomes recorded for %d launched uploads", ended, res.Launched)
	}
}
