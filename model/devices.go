package model

import (
	"math"
	"math/rand/v2"
	"time"

	"github.com/stormsim/stormsim/scenarios"
	"github.com/stormsim/stormsim/sim/traffic"
	"github.com/stormsim/stormsim/sim/workload"
)

// devices are the phones: how long staging takes, and when and how a
// device learns its outcome (push or polls).
type devices struct {
	put, poll, pushDelay func(*rand.Rand) int64
	pushPath             func(*rand.Rand) int64 // PUBLISH to the device (profile device.push)
	late                 func() int64           // how late a timer fires (cpu.go; 0 without)
	bandwidth            scenarios.Dist
	threshold, partSize  int64
	push                 bool
	pushLoss             float64
	policy               pollPolicy
	rStage, rPush, rPoll *rand.Rand
	rPath                *rand.Rand
}

// pollPolicy is the device's poll schedule: the first poll FirstDelay
// after staging, then Interval, multiplied by Backoff after each poll up
// to MaxInterval; at most MaxPolls polls; the device gives up Timeout
// after staging.
//
// With first_delay auto the devices' own estimator (sim/traffic's
// Estimator, one for the fleet as in a run) chooses the first poll and
// stretches the waits after a pending answer; decisions feed it when a
// device learns them, as in a run. Two timings differ from a run, and
// Run's notes say so: the first poll's estimate is read when staging
// starts (a run reads it when staging ends), and a device's pending
// answers reach the estimator when the decision is made, not at each
// poll (the model plays a device's polls in one go).
type pollPolicy struct {
	first, interval, maxInterval, timeout int64
	backoff                               float64
	maxPolls                              int
	est                                   *traffic.Estimator // first_delay auto
}

func newDevices(sc *scenarios.Scenario, p *Profile, st *workload.Streams, late func() int64) *devices {
	w := &sc.Wait
	pp := pollPolicy{first: int64(w.Poll.FirstDelayFixed), interval: int64(w.Poll.Interval), backoff: w.Poll.Backoff,
		maxInterval: int64(w.Poll.MaxInterval), timeout: int64(w.Poll.Timeout), maxPolls: w.Poll.MaxPolls}
	if w.Poll.FirstDelay == "auto" || w.Poll.FirstDelay == "" {
		e := traffic.NewEstimator()
		pp.est = &e
	}
	d := &devices{put: sampler(p.Device.Put), poll: sampler(p.Device.Poll), pushDelay: sampler(w.PushDelay),
		bandwidth: p.Device.Bandwidth, threshold: sc.Sizes.MultipartThreshold, partSize: sc.Sizes.PartSize,
		push: w.Push, pushLoss: w.PushLoss, policy: pp, pushPath: sampler(p.Device.Push), late: late,
		rStage: st.New("model-staging"), rPush: st.New("model-push"), rPoll: st.New("model-poll"),
	}
	if p.Device.Push.Kind != "" {
		d.rPath = st.New("model-push-path")
	}
	return d
}

// staging returns how long a device takes to stage size bytes, and the
// parts of a multipart upload (0: a single PUT).
func (d *devices) staging(size int64) (int64, int) {
	bw := 0.0
	if d.bandwidth.Kind != "" {
		bw = workload.Sample(d.bandwidth, d.rStage)
	}
	xfer := func(n int64) int64 {
		if bw <= 0 {
			return 0
		}
		return int64(float64(n) / bw * 1e9)
	}
	if d.threshold <= 0 || size < d.threshold || d.partSize <= 0 {
		return d.put(d.rStage) + xfer(size), 0
	}
	parts := int((size + d.partSize - 1) / d.partSize)
	t := 2 * d.put(d.rStage) // create and complete
	for i := range parts {
		n := min(d.partSize, size-int64(i)*d.partSize)
		t += d.put(d.rStage) + xfer(n)
	}
	return t, parts
}

// learning is how a device learned its outcome.
type learning struct {
	at     int64 // when the device knew (or gave up)
	polls  int
	push   bool // by push, before any poll told it
	gaveUp bool
}

// firstPoll is the wait from staging to the first poll of size bytes.
func (d *devices) firstPoll(size int64) int64 {
	if d.policy.est != nil {
		return int64(d.policy.est.FirstPoll(size))
	}
	return d.policy.first
}

// observe feeds a decision (staged to decided) to the estimator.
func (d *devices) observe(staged, decided int64) {
	if d.policy.est != nil {
		d.policy.est.Observe(time.Duration(decided - staged))
	}
}

// learn plays a device's wait from staged on, its first poll first after
// staging: the result became readable at visible (math.MaxInt64: never).
// A poll is answered at its midpoint; the push, unless lost, arrives
// the profile's push path and the scenario's push delay after visible.
// Each poll's timer, and the push delay's, fires late by d.late. rtt is
// the round trip between the device's region and its home region that
// each poll adds (0 in one region): the midpoint is then where the home
// region reads the result.
func (d *devices) learn(staged, first, visible, rtt int64) learning {
	pushAt := int64(math.MaxInt64)
	if d.push && visible != math.MaxInt64 {
		if d.pushLoss <= 0 || d.rPush.Float64() >= d.pushLoss {
			pushAt = visible + d.pushDelay(d.rPush)
			if pushAt > visible {
				pushAt += d.late()
			}
			pushAt += d.pushPath(d.rPath)
		}
	}
	pp := &d.policy
	deadline := staged + pp.timeout
	t, iv := staged+first+d.late(), pp.interval
	polls := 0
	for {
		if pushAt <= t && pushAt < deadline {
			return learning{at: pushAt, polls: polls, push: true}
		}
		if t >= deadline {
			return learning{at: deadline, polls: polls, gaveUp: true}
		}
		if pp.maxPolls > 0 && polls >= pp.maxPolls {
			if pushAt < deadline {
				return learning{at: pushAt, polls: polls, push: true}
			}
			if d.push {
				return learning{at: deadline, polls: polls, gaveUp: true}
			}
			return learning{at: t, polls: polls, gaveUp: true}
		}
		lat := d.poll(d.rPoll) + rtt
		polls++
		if t+lat/2 >= visible {
			return learning{at: t + lat, polls: polls}
		}
		wait := iv
		if pp.est != nil {
			// as the harness's device: the pending answer at age
			// raises the estimate, which may stretch the wait
			age := time.Duration(t + lat - staged)
			pp.est.Pending(age)
			wait = min(int64(pp.est.NextPoll(age, time.Duration(iv))), pp.maxInterval)
		}
		t += lat + wait + d.late()
		iv = min(int64(float64(iv)*pp.backoff), pp.maxInterval)
	}
}

// regionsPolicy is how a multi-region run's devices (sim/regions) stage
// and poll: one PUT whatever the size; no push and no estimator; the
// first poll as soon as the staging PUT returns, then one every interval
// until timeout.
func (d *devices) regionsPolicy(interval, timeout time.Duration) {
	d.push, d.threshold = false, 0
	d.policy = pollPolicy{interval: int64(interval), maxInterval: int64(interval), backoff: 1, timeout: int64(timeout)}
}

// nsTime turns a virtual instant into a time on the run's clock.
func nsTime(start time.Time, ns int64) time.Time { return start.Add(time.Duration(ns)) }
