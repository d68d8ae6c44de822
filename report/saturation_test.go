package report

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/stormsim/stormsim/scenarios"
	"github.com/stormsim/stormsim/sim"
	"github.com/stormsim/stormsim/sim/checker"
	"github.com/stormsim/stormsim/sim/history"
	"github.com/stormsim/stormsim/sim/measure"
)

// Harnesses as the saturation meter measures them: an idle machine (lag
// and scheduling latency of milliseconds, as measured on ci.yaml) and a
// starved one (figures of a ci.yaml run that shared 2 cores with a load
// average of 25: this process got 12% of the cores).
var (
	idleHarness = measure.Saturation{CPUs: 2, Placement: measure.Placement{Embedded: true, CoordinatorInProcess: true},
		ProcessCPUShare: 0.6, MachineCPUBusyShare: 0.65, OtherCPUShare: 0.05, RunQueueWaitShare: 0.15,
		Lag: measure.Quantiles{Count: 5000, P50: 0.001, P99: 0.02, Max: 0.05}, SchedLatency: measure.Quantiles{Count: 40000, P50: 1e-5, P99: 0.002, Max: 0.01},
		RedisWait: measure.Quantiles{Count: 9000, P50: 0.001, P99: 0.03, Max: 0.1}, S3Wait: measure.Quantiles{Count: 9000, P50: 0.001, P99: 0.05, Max: 0.2}}
	starvedHarness = measure.Saturation{CPUs: 2, Placement: measure.Placement{Embedded: true}, RunQueueWaitShare: -1,
		ProcessCPUShare: 0.12, MachineCPUBusyShare: 1, OtherCPUShare: 0.88,
		Lag: measure.Quantiles{Count: 5516, P50: 0.12, P99: 3.26, Max: 5.3}, LaunchLag: measure.Quantiles{Count: 1100, P50: 1.4, P99: 3.7, Max: 5.3},
		TimerLateness: measure.Quantiles{Count: 4416, P50: 0.08, P99: 0.94, Max: 1.97}, SchedLatency: measure.Quantiles{Count: 46879, P50: 1e-5, P99: 1.07, Max: 2.1},
		RedisWait: measure.Quantiles{Count: 9000, P50: 0.001, P99: 0.03, Max: 0.1}}
)

// A process crowded out by two busy loops on 2 cores, and the same
// machine under a light load (figures of steady.yaml at 1,000/s and at
// 300/s beside two busy loops): its timers and the Go scheduler stay
// within their limits in both.
var (
	crowdedHarness = measure.Saturation{CPUs: 2, Placement: measure.Placement{Embedded: true, CoordinatorInProcess: true},
		ProcessCPUShare: 0.485, RunQueueWaitShare: 0.529, MachineCPUBusyShare: 1, OtherCPUShare: 0.514,
		Lag: measure.Quantiles{Count: 30000, P50: 0.002, P99: 0.06, Max: 0.3}, SchedLatency: measure.Quantiles{Count: 90000, P50: 1e-5, P99: 0.021, Max: 0.1}}
	lightOnBusyHarness = func() measure.Saturation {
		s := crowdedHarness
		s.ProcessCPUShare, s.RunQueueWaitShare, s.OtherCPUShare = 0.25, 0.31, 0.75
		return s
	}()
)

// system is what the system under test did, as the devices measured it.
type system struct {
	latency    time.Duration // every upload's
	polls      int64         // every upload's
	violations int           // nothing-dropped violations
	pending    int           // uploads still pending after the drain
}

var (
	fastSystem = system{latency: 300 * time.Millisecond, polls: 1}
	slowSystem = system{latency: 12 * time.Second, polls: 4}
)

func runResult(t *testing.T, sys system, sat measure.Saturation) *sim.Result {
	t.Helper()
	lat, polls := hdrhistogram.New(1, int64(time.Hour/time.Microsecond), 3), hdrhistogram.New(0, 1000, 3)
	for range 1000 {
		_ = lat.RecordValue(int64(sys.latency / time.Microsecond))
		_ = polls.RecordValue(sys.polls)
	}
	check := checker.Report{Checks: []checker.Result{{Name: checker.NameOneWinner, OK: true},
		{Name: checker.NameNothingDropped, OK: sys.violations == 0, Violations: sys.violations, Examples: []string{"u-1"}}},
		Violations: sys.violations, Pending: sys.pending}
	if sys.pending > 0 {
		check.PendingReasons = map[string]int{history.PendingQueued: sys.pending}
	}
	return &sim.Result{Scenario: "ci", Elapsed: 30 * time.Second, Window: 5 * time.Second, Planned: 1000, PlannedRate: 200,
		Launched: 1000, Check: check, Saturation: sat,
		Measure: measure.Snapshot{Latency: lat, PollsHist: polls, Outcomes: map[history.Outcome]int64{
			history.OutcomeCommitted: int64(1000 - sys.pending), history.OutcomeUnknown: int64(sys.pending)}}}
}

func ciGates(t *testing.T, extra ...string) *scenarios.Scenario {
	t.Helper()
	sc := &scenarios.Scenario{Name: "ci"}
	for _, expr := range append([]string{"invariants.violations == 0", "polls.mean <= 1.5", "latency.p99 < 5s",
		"throughput.achieved_ratio >= 0.9"}, extra...) {
		g, err := scenarios.ParseGate(expr)
		if err != nil {
			t.Fatal(err)
		}
		sc.ParsedGates = append(sc.ParsedGates, g)
	}
	return sc
}

// TestBuild_Saturation_Verdict proves both directions: a slow system on an
// idle harness fails its speed gates; a fast system on a starved harness is
// inconclusive (never fail) with a reason naming the resource, though a
// gate the harness's lag could only have worsened keeps its pass;
// a starved harness excuses no correctness failure; pending uploads keep a
// run from passing.
func TestBuild_Saturation_Verdict(t *testing.T) {
	tests := []struct {
		name    string
		sys     system
		sat     measure.Saturation
		extra   []string
		verdict string
		bound   bool
		gate    string // status of the "latency.p99 < 5s" gate
		reason  string // in the reasons
	}{
		{"slow system, idle harness: fail", slowSystem, idleHarness, nil, Fail, false, "FAIL", `gate "latency.p99 < 5s": measured 12`},
		{"fast system, idle harness: pass", fastSystem, idleHarness, nil, Pass, false, "ok", ""},
		// A latency gate passed on a starved harness stands (its lag can only
		// have added latency); the polls gate, which lag moves either way,
		// makes the run inconclusive.
		{"fast system, starved harness: inconclusive", fastSystem, starvedHarness, nil, Inconclusive, true, "ok", "CPU: the harness's own timers ran late"},
		{"latency failed on a starved harness: inconclusive", system{latency: 6 * time.Second, polls: 1}, starvedHarness, nil, Inconclusive, true, "INCONCLUSIVE", "Go scheduler latency"},
		{"slow system, starved harness: inconclusive", slowSystem, starvedHarness, nil, Inconclusive, true, "INCONCLUSIVE", "Go scheduler latency"},
		// A failure on a starved harness is never the system's: the starved
		// CPU ran the in-process coordinator too.
		{"very slow system, starved harness: inconclusive", system{latency: 20 * time.Second, polls: 1}, starvedHarness, nil, Inconclusive, true, "INCONCLUSIVE", "Go scheduler latency"},
		{"starved harness excuses no violation", system{latency: time.Second, polls: 1, violations: 3}, starvedHarness, nil, Fail, true, "ok", "invariant nothing-dropped: 3 violation(s)"},
		{"embedded Redis bound", fastSystem, func() measure.Saturation {
			s := idleHarness
			s.RedisWait.P99 = 2.5
			return s
		}(), nil, Pass, true, "ok", ""}, // bound, but every gate passed on metrics a slow fake can only worsen
		{"embedded Redis bound, latency failed within its wait", system{latency: 6 * time.Second, polls: 1}, func() measure.Saturation {
			s := starvedHarness
			s.SchedLatency, s.RedisWait.P99 = idleHarness.SchedLatency, 2.5
			return s
		}(), nil, Inconclusive, true, "INCONCLUSIVE", "embedded Redis: commands took p99 2.5s"},
		{"real servers are not the harness", fastSystem, func() measure.Saturation {
			s := idleHarness
			s.RedisWait.P99, s.Embedded = 2.5, false
			return s
		}(), nil, Pass, false, "ok", ""},
		{"pending uploads: inconclusive", system{latency: time.Second, polls: 1, pending: 7}, idleHarness, nil, Inconclusive, false, "ok", "7 upload(s) still pending when the drain ended (7 still queued for a handler)"},
		// Crowded out by other processes: the whole system ran here, asked
		// for every core and waited for half of them.
		{"slow system, crowded out by other processes: inconclusive", slowSystem, crowdedHarness, nil, Inconclusive, true, "INCONCLUSIVE",
			"CPU: other processes took 51.4% of the 2 cores while this process, which ran the whole system under test, asked for 101.4% of them (ran 48.5%, its threads waited 52.9% for a CPU); machine 100.0% busy"},
		{"crowded out, violations still fail", system{latency: time.Second, polls: 1, violations: 2}, crowdedHarness, nil, Fail, true, "ok", "invariant nothing-dropped: 2 violation(s)"},
		// A light load on the same machine asks for half the cores: a slow
		// system (one that waits) still fails.
		{"slow system, light load on a busy machine: fail", slowSystem, lightOnBusyHarness, nil, Fail, false, "FAIL", `gate "latency.p99 < 5s": measured 12`},
		// Other processes may be the system itself: external coordinators,
		// or real servers on this machine.
		{"slow system, crowded out by external coordinators: fail", slowSystem, func() measure.Saturation {
			s := crowdedHarness
			s.CoordinatorInProcess = false
			return s
		}(), nil, Fail, false, "FAIL", `gate "latency.p99 < 5s": measured 12`},
		{"slow system, crowded out beside real servers: fail", slowSystem, func() measure.Saturation {
			s := crowdedHarness
			s.Embedded = false
			return s
		}(), nil, Fail, false, "FAIL", `gate "latency.p99 < 5s": measured 12`},
		{"slow system, run-queue wait unknown: fail", slowSystem, func() measure.Saturation {
			s := crowdedHarness
			s.RunQueueWaitShare = -1
			return s
		}(), nil, Fail, false, "FAIL", `gate "latency.p99 < 5s": measured 12`},
		{"slow system, the harness alone on the machine: fail", slowSystem, func() measure.Saturation {
			s := crowdedHarness
			s.ProcessCPUShare, s.RunQueueWaitShare, s.OtherCPUShare = 0.97, 0.3, 0.02
			return s
		}(), nil, Fail, false, "FAIL", `gate "latency.p99 < 5s": measured 12`},
		{"pending uploads under a gate: fail", system{latency: time.Second, polls: 1, pending: 7}, idleHarness, []string{"uploads.pending == 0"}, Fail, false, "ok", `gate "uploads.pending == 0": measured 7`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Build(runResult(t, tt.sys, tt.sat), ciGates(t, tt.extra...), "")
			if r.Verdict != tt.verdict {
				t.Errorf("verdict %s, want %s; reasons %q", r.Verdict, tt.verdict, r.Reasons)
			}
			sat := r.Harness.Saturation
			if sat == nil || sat.Bound != tt.bound || sat.Bound != (len(sat.Reasons) > 0) {
				t.Fatalf("saturation %+v, want bound %v", sat, tt.bound)
			}
			var g Gate
			for _, x := range r.Gates {
				if x.Expr == "latency.p99 < 5s" {
					g = x
				}
			}
			if got := status(g.OK, g.Inconclusive); got != tt.gate {
				t.Errorf("latency gate %s (%+v), want %s", got, g, tt.gate)
			}
			if g.Inconclusive && (g.OK || !strings.HasPrefix(g.Reason, "harness-bound (")) {
				t.Errorf("inconclusive gate %+v: must not pass and must name the resource", g)
			}
			if inv := r.Gates[0]; inv.Inconclusive {
				t.Errorf("correctness gate excused: %+v", inv)
			}
			if tt.reason != "" && !strings.Contains(strings.Join(r.Reasons, "\n"), tt.reason) {
				t.Errorf("reasons %q lack %q", r.Reasons, tt.reason)
			}
		})
	}
}

// TestSummary_Uploads_ExplainsCounts: every count the uploads section
// prints says what it is and where the history shows it.
func TestSummary_Uploads_ExplainsCounts(t *testing.T) {
	r := &Results{Uploads: Uploads{Total: 10, Committed: 6, Unknown: 4, Pending: 3, DecidedLate: 1,
		PendingReasons: map[string]int64{history.PendingQueued: 2, history.PendingRetrying: 1}},
		Errors:      map[string]int64{"poll": 5, "timeout": 4},
		ErrorCauses: map[string]map[string]int64{"poll": {"result API: HTTP 404 no such upload": 4, "Get \"http://ADDR/v1/uploads/ID\": EOF": 1}}}
	var b strings.Builder
	s := &sumWriter{w: &b}
	s.uploads(r)
	out := b.String()
	for _, want := range []string{
		"of the unknown: 3 still pending when the drain ended (2 still queued for a handler, 1 waiting for a handler retry), 1 decided by the server after their device gave up",
		`poll 5: failed result queries, each polled again (not upload outcomes); history: poll records with state "error"; causes: 4 x result API: HTTP 404 no such upload`,
		`timeout 4: devices that stopped waiting for an outcome; history: upload records with outcome "unknown"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
}

// TestBuild_Interrupted_Verdict: a run stopped by a signal is inconclusive
// on its failed speed gates (the harness cut the load short, not the
// system), but a violation in what it recorded up to the stop still fails.
func TestBuild_Interrupted_Verdict(t *testing.T) {
	tests := []struct {
		name    string
		sys     system
		verdict string
		reason  string
	}{
		{"slow system, interrupted: inconclusive", slowSystem, Inconclusive,
			`gate "latency.p99 < 5s": the run was interrupted`},
		{"violation, interrupted: fail", system{latency: time.Second, polls: 1, violations: 2}, Fail,
			"invariant nothing-dropped: 2 violation(s)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := runResult(t, tt.sys, idleHarness)
			res.Interrupted = true
			r := Build(res, ciGates(t), "")
			if r.Verdict != tt.verdict {
				t.Errorf("verdict %s, want %s; reasons %q", r.Verdict, tt.verdict, r.Reasons)
			}
			if !slices.ContainsFunc(r.Reasons, func(s string) bool { return strings.Contains(s, tt.reason) }) {
				t.Errorf("reasons %q lack %q", r.Reasons, tt.reason)
			}
		})
	}
}
