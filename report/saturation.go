package report

import (
	"fmt"
	"slices"
	"strings"

	"github.com/stormsim/stormsim/scenarios"
	"github.com/stormsim/stormsim/sim/measure"
)

// Limits of the harness's own lag. Past any of them the harness was
// saturated enough to move a speed metric, and gates on speed metrics are
// inconclusive instead of pass or fail. They sit far above what an idle
// machine shows (lag and scheduling latency of milliseconds) and they
// measure the harness, not the system: a coordinator that is slow because
// it waits (a sleep, a lock held too long, a slow server) leaves every one
// of them idle, so it still fails its speed gates. A coordinator that burns
// the CPU it shares with the harness does move them: in one process the two
// cannot be told apart, and the reason says so.
const (
	// MaxHarnessLagP99Seconds bounds the p99 of the harness's own lag: how
	// late planned arrivals started and device timers (first poll, next
	// poll) fired.
	MaxHarnessLagP99Seconds = 0.5
	// MaxSchedLatencyP99Seconds bounds the p99 time runnable goroutines
	// waited for a CPU (Go runtime /sched/latencies).
	MaxSchedLatencyP99Seconds = 0.05
	// MaxFakeRedisWaitP99Seconds bounds the p99 round trip of a command to
	// the embedded Redis (one lock for every command): past it the fake,
	// not the design, sets the pace. Real servers are not judged by it.
	MaxFakeRedisWaitP99Seconds = 1.0
	// MaxFakeS3WaitP99Seconds bounds the p99 time of a request inside the
	// embedded S3 (one lock for the store; body transfer included).
	MaxFakeS3WaitP99Seconds = 2.0
)

// Saturation is results.json harness.saturation: the harness's own lag,
// and whether it was bound (Reasons name the resource).
type Saturation struct {
	Bound   bool     `json:"bound"`
	Reasons []string `json:"reasons"`
	measure.Saturation
	Limits SaturationLimits `json:"limits"`
}

// SaturationLimits are the limits a run was judged by.
type SaturationLimits struct {
	LagP99Seconds          float64 `json:"lag_p99_seconds"`
	SchedLatencyP99Seconds float64 `json:"sched_latency_p99_seconds"`
	RedisWaitP99Seconds    float64 `json:"redis_wait_p99_seconds"`
	S3WaitP99Seconds       float64 `json:"s3_wait_p99_seconds"`
}

// saturation judges the measured lag against the limits.
func saturation(s measure.Saturation) *Saturation {
	out := &Saturation{Reasons: []string{}, Saturation: s, Limits: SaturationLimits{
		LagP99Seconds: MaxHarnessLagP99Seconds, SchedLatencyP99Seconds: MaxSchedLatencyP99Seconds,
		RedisWaitP99Seconds: MaxFakeRedisWaitP99Seconds, S3WaitP99Seconds: MaxFakeS3WaitP99Seconds}}
	cpu := cpuContext(s)
	if s.SchedLatency.P99 > MaxSchedLatencyP99Seconds {
		out.Reasons = append(out.Reasons, fmt.Sprintf(resCPU+": runnable goroutines waited p99 %s > %s for a CPU (Go scheduler latency)%s",
			seconds(s.SchedLatency.P99), seconds(MaxSchedLatencyP99Seconds), cpu))
		cpu = ""
	}
	if s.Lag.P99 > MaxHarnessLagP99Seconds {
		out.Reasons = append(out.Reasons, fmt.Sprintf(resCPU+": the harness's own timers ran late, lag p99 %s > %s (launch lag p99 %s, device timers p99 %s)%s",
			seconds(s.Lag.P99), seconds(MaxHarnessLagP99Seconds), seconds(s.LaunchLag.P99), seconds(s.TimerLateness.P99), cpu))
	}
	if s.Embedded && s.RedisWait.P99 > MaxFakeRedisWaitP99Seconds {
		out.Reasons = append(out.Reasons, fmt.Sprintf(resRedis+": commands took p99 %s > %s (every command runs under one lock)",
			seconds(s.RedisWait.P99), seconds(MaxFakeRedisWaitP99Seconds)))
	}
	if s.Embedded && s.S3Wait.P99 > MaxFakeS3WaitP99Seconds {
		out.Reasons = append(out.Reasons, fmt.Sprintf(resS3+": requests took p99 %s > %s inside the fake",
			seconds(s.S3Wait.P99), seconds(MaxFakeS3WaitP99Seconds)))
	}
	out.Bound = len(out.Reasons) > 0
	return out
}

// cpuContext says who had the CPU, for a reason about it.
func cpuContext(s measure.Saturation) string {
	if s.MachineCPUBusyShare < 0 {
		return fmt.Sprintf("; this process used %s of %d cores", percent(s.ProcessCPUShare), s.CPUs)
	}
	return fmt.Sprintf("; machine %s busy, this process %s, other processes %s of %d cores",
		percent(s.MachineCPUBusyShare), percent(s.ProcessCPUShare), percent(s.OtherCPUShare), s.CPUs)
}

// lagDirection tells, for a gate metric, which way harness lag moves it
// (scenarios.Metrics says, per metric): +1 it can only grow (latency and
// scheduler lateness count the harness's own lag; a late harness leaves
// more uploads unknown or pending; a starved handler costs more time), -1
// it can only shrink (throughput), 0 either way (polls: a late device
// timer polls after the outcome, so fewer). speed is false for a
// correctness metric (invariants, errors, outcomes), which lag never
// excuses.
func lagDirection(metric string) (dir int, speed bool) {
	m, _ := scenarios.LookupMetric(metric)
	switch m.Lag {
	case scenarios.LagGrows:
		return +1, true
	case scenarios.LagShrinks:
		return -1, true
	case scenarios.LagEither:
		return 0, true
	}
	return 0, false
}

// excuseGates decides the gates on speed metrics of a run whose harness was
// bound. A failed speed gate is inconclusive: the starved CPU ran the
// devices, the fakes and (in process) the coordinator alike, so a failure
// cannot be pinned on the system. A passed one keeps its pass when the
// harness could not have helped it across the threshold:
//   - on a metric harness lag can only make worse (latency, scheduler
//     lateness and cost bounded from above; uploads.unknown and
//     uploads.pending from above; throughput from below): the system did
//     at least that well;
//   - on polls when the device timers, which decide when a device polls,
//     ran on time (timer lateness p99 within MaxHarnessLagP99Seconds): a
//     late timer polls after the outcome, so fewer polls would flatter.
//
// Every other speed gate is inconclusive. Gates on correctness metrics keep
// their result.
func excuseGates(gates []Gate, parsed []scenarios.Gate, sat *Saturation) {
	if sat == nil || !sat.Bound {
		return
	}
	for i := range gates {
		if i >= len(parsed) {
			continue
		}
		dir, speed := lagDirection(parsed[i].Metric)
		if !speed {
			continue
		}
		g, p := &gates[i], parsed[i]
		bounded := dir > 0 && (p.Op == "<" || p.Op == "<=" || p.Op == "==") ||
			dir < 0 && (p.Op == ">" || p.Op == ">=")
		switch {
		case g.NoData:
			continue
		case g.OK && bounded:
			continue // lag could only have made it worse
		case g.OK && strings.HasPrefix(p.Metric, "polls.") && sat.TimerLateness.P99 <= MaxHarnessLagP99Seconds:
			continue // the device timers were on time
		}
		g.OK, g.Inconclusive = false, true
		g.Reason = "harness-bound (" + strings.Join(sat.Resources(), ", ") + "): see harness.saturation"
	}
}

// The resources a saturation reason blames; each reason starts with one
// ("CPU: ..."), after a "shard N: " in a merged run.
const (
	resCPU   = "CPU"
	resRedis = "embedded Redis"
	resS3    = "embedded S3"
)

// Resources names the harness resources the reasons blame, once each.
func (s *Saturation) Resources() []string {
	var out []string
	for _, r := range s.Reasons {
		for _, name := range []string{resCPU, resRedis, resS3} {
			blamed := strings.HasPrefix(r, name+": ") || strings.HasPrefix(r, "shard ") && strings.Contains(r, ": "+name+": ")
			if blamed && !slices.Contains(out, name) {
				out = append(out, name)
			}
		}
	}
	return out
}
