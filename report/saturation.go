package report

import (
	"encoding/json"
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
	// MinStarvedDemandShare and MinRunQueueWaitShare say when a process
	// that ran the whole system under test was crowded out by other
	// processes (with MaxOtherCPUShare): it asked for nearly every core
	// (its CPU time plus its threads' run-queue wait, over the wall time
	// and the cores) and its threads waited for a CPU, on average, at
	// least a fifth of the cores' time. Such a run hides from the limits
	// above: the Go scheduler counts a thread the kernel has set aside as
	// running, and the harness's timers still fire on time when the
	// in-process handlers are the ones falling behind (measured: steady
	// 1,000/s beside two busy loops, p99 latency 20 s with scheduler
	// latency 42 ms and lag 127 ms; the process got 47% of the 2 cores,
	// waited 52%, others took 53%). A lighter run on the same machine asks
	// for less (steady 300/s: 25% plus 31%; 600/s: 38% plus 48%, and it
	// passed), and a system that is slow because it waits leaves its
	// threads asleep, so it keeps failing its speed gates.
	MinStarvedDemandShare = 0.9
	MinRunQueueWaitShare  = 0.2
)

// Saturation is results.json harness.saturation: the harness's own lag,
// and whether it was bound (Reasons name the resource).
type Saturation struct {
	Bound   bool     `json:"bound"`
	Reasons []string `json:"reasons"`
	measure.Saturation
	Limits SaturationLimits `json:"limits"`
}

// UnmarshalJSON reads a figure a file written before it existed lacks as
// unknown (-1), not as the measured 0 decoding would leave:
// run_queue_wait_share.
func (s *Saturation) UnmarshalJSON(b []byte) error {
	type plain Saturation // without this method
	p := plain{Saturation: measure.Saturation{RunQueueWaitShare: -1}}
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*s = Saturation(p)
	return nil
}

// SaturationLimits are the limits a run was judged by.
type SaturationLimits struct {
	LagP99Seconds          float64 `json:"lag_p99_seconds"`
	SchedLatencyP99Seconds float64 `json:"sched_latency_p99_seconds"`
	RedisWaitP99Seconds    float64 `json:"redis_wait_p99_seconds"`
	S3WaitP99Seconds       float64 `json:"s3_wait_p99_seconds"`
	// Crowded out by other processes: all three at once (see
	// MinStarvedDemandShare).
	OtherCPUShare     float64 `json:"other_cpu_share"`
	CPUDemandShare    float64 `json:"cpu_demand_share"`
	RunQueueWaitShare float64 `json:"run_queue_wait_share"`
}

// saturation judges the measured lag against the limits.
func saturation(s measure.Saturation) *Saturation {
	out := &Saturation{Reasons: []string{}, Saturation: s, Limits: SaturationLimits{
		LagP99Seconds: MaxHarnessLagP99Seconds, SchedLatencyP99Seconds: MaxSchedLatencyP99Seconds,
		RedisWaitP99Seconds: MaxFakeRedisWaitP99Seconds, S3WaitP99Seconds: MaxFakeS3WaitP99Seconds,
		OtherCPUShare: MaxOtherCPUShare, CPUDemandShare: MinStarvedDemandShare, RunQueueWaitShare: MinRunQueueWaitShare}}
	cpu := cpuContext(s)
	if crowdedOut(s) {
		out.Reasons = append(out.Reasons, fmt.Sprintf(resCPU+": other processes took %s of the %d cores while this process, which ran the whole system under test, asked for %s of them (ran %s, its threads waited %s for a CPU); machine %s busy",
			percent(s.OtherCPUShare), s.CPUs, percent(s.ProcessCPUShare+s.RunQueueWaitShare), percent(s.ProcessCPUShare),
			percent(s.RunQueueWaitShare), percent(s.MachineCPUBusyShare)))
		cpu = ""
	}
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

// crowdedOut tells whether other processes took the CPU a process that
// ran the whole system under test asked for (MinStarvedDemandShare).
// When the fakes or the coordinator ran elsewhere, other processes' CPU
// may be the system's own, so it never excuses. Unknown figures never
// pass (the wait is -1, other processes' share 0 when the machine's is
// unknown).
func crowdedOut(s measure.Saturation) bool {
	return s.Embedded && s.CoordinatorInProcess &&
		s.OtherCPUShare > MaxOtherCPUShare && s.RunQueueWaitShare >= MinRunQueueWaitShare &&
		s.ProcessCPUShare+s.RunQueueWaitShare >= MinStarvedDemandShare
}

// cpuContext says who had the CPU, for a reason about it.
func cpuContext(s measure.Saturation) string {
	wait := ""
	if s.RunQueueWaitShare >= 0 {
		wait = fmt.Sprintf(" (its threads waited %s for a CPU)", percent(s.RunQueueWaitShare))
	}
	if s.MachineCPUBusyShare < 0 {
		return fmt.Sprintf("; this process used %s%s of %d cores", percent(s.ProcessCPUShare), wait, s.CPUs)
	}
	return fmt.Sprintf("; machine %s busy, this process %s%s, other processes %s of %d cores",
		percent(s.MachineCPUBusyShare), percent(s.ProcessCPUShare), wait, percent(s.OtherCPUShare), s.CPUs)
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

// excuseInterrupted decides the failed speed gates of a run stopped by a
// signal: inconclusive, since the harness cut the load and the drain
// short, not the system. Correctness gates keep their result: what the
// history shows up to the stop still holds.
func excuseInterrupted(gates []Gate, parsed []scenarios.Gate) {
	for i := range gates {
		if i >= len(parsed) || gates[i].OK || gates[i].NoData {
			continue
		}
		if _, speed := lagDirection(parsed[i].Metric); speed {
			gates[i].Inconclusive = true
			gates[i].Reason = "the run was interrupted: the harness cut the load and the drain short"
		}
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
