package model

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/stormsim/stormsim/scenarios"
	"github.com/stormsim/stormsim/sim/workload"
)

// CPU is the machine a profile's whole setup runs on, when it runs on one
// (profiles embedded and redis-server: devices, fakes, handlers and push
// hub in one process on the calibrating machine's cores). A profile of a
// deployed system (aws-us-east-1) has none: its calls run elsewhere, on
// machines of their own.
//
// Calibrate times each call one at a time on an otherwise idle process;
// in a run, the calls of hundreds of uploads share Cores cores. The model
// books each call's CPU time (its latency times BusyShare) on the cores
// in the order the calls are made; a call that finds every core busy
// waits for one, so a burst stretches what it does, as it does in a run.
type CPU struct {
	// Cores is the process's GOMAXPROCS when calibrated (0: the setup's
	// CPU is not modelled).
	Cores int `yaml:"cores"`
	// BusyShare is the process's CPU time per second of the calls'
	// latency, calls made one at a time (its CPU time over the summed
	// latency of the calls and staging PUTs calibrate timed): what a call
	// costs the machine's cores, as a share of its latency.
	BusyShare float64 `yaml:"busy_share"`
	// Wake is how late a timer fires (a sleep's overshoot): added to every
	// timed wait of the harness, the planned arrival, the S3 event's delay,
	// each poll's wait and the push delay.
	Wake scenarios.Dist `yaml:"wake"`
}

func (c *CPU) validate(bad func(field, format string, a ...any)) {
	if c.Cores < 0 {
		bad("cpu.cores", "must be >= 0, got %d", c.Cores)
	}
	if c.BusyShare < 0 || (c.Cores > 0 && c.BusyShare == 0) {
		bad("cpu.busy_share", "must be > 0 with cpu.cores, got %g", c.BusyShare)
	}
	if err := checkDist(c.Wake); err != nil {
		bad("cpu.wake", "%v", err)
	}
}

// callCPU is the CPU time of one call of name on the setup's machine:
// the busy share of its calibrated mean latency (0 without a cpu section).
func (p *Profile) callCPU(name string) int64 {
	if p.CPU.Cores <= 0 {
		return 0
	}
	base := p
	if p.calibrated != nil {
		base = &Profile{Ops: p.calibrated}
	}
	return secondsNs(p.CPU.BusyShare * distMean(base.op(name)))
}

// cpuServer is the process's cores as a server: FIFO in the order calls
// are booked, each core running one booking at a time. A nil *cpuServer
// (the profile has no cpu section) books nothing and never waits, so a
// plan of a deployed system runs exactly as without it.
type cpuServer struct {
	free   []int64 // when each core is next free
	share  float64
	wake   func(*rand.Rand) int64
	r      *rand.Rand
	booked int64 // CPU nanoseconds booked
	waited int64 // nanoseconds calls waited for a core
	calls  int64
}

func newCPUServer(p *Profile, st *workload.Streams) *cpuServer {
	if p.CPU.Cores <= 0 {
		return nil
	}
	return &cpuServer{free: make([]int64, p.CPU.Cores), share: p.CPU.BusyShare, wake: sampler(p.CPU.Wake), r: st.New("model-cpu")}
}

// cost is the CPU time of lat nanoseconds of in-process work (a staging
// PUT, a transfer): lat times the busy share.
func (c *cpuServer) cost(lat int64) int64 {
	if c == nil {
		return 0
	}
	return int64(float64(lat) * c.share)
}

// book runs d nanoseconds of CPU time at now on the first core free; it
// returns how long the call waits for that core. Calls must be booked in
// time order (the event loop's), so the FIFO is exact.
func (c *cpuServer) book(now, d int64) int64 {
	if c == nil {
		return 0
	}
	n := 0
	for i, f := range c.free {
		if f < c.free[n] {
			n = i
		}
	}
	start := max(now, c.free[n])
	c.free[n] = start + d
	c.booked += d
	c.waited += start - now
	c.calls++
	return start - now
}

// noLate is late without a cpu section: timers fire on time.
func noLate() int64 { return 0 }

// call runs a call of latency lat (one at a time) and CPU time d at now
// and returns how long it takes: its latency on idle cores; when it must
// wait for a core, the wait and its CPU time, as the time a lone call
// spends in hand-offs between goroutines is then spent in the run queue,
// which the wait already counts. Without a cpu section, lat.
func (c *cpuServer) call(now, lat, d int64) int64 {
	if c == nil {
		return lat
	}
	return max(lat, c.book(now, d)+d)
}

// late is how late one timer fires.
func (c *cpuServer) late() int64 {
	if c == nil {
		return 0
	}
	return c.wake(c.r)
}

// note says how the plan modelled the machine's CPU, with what it booked
// over uploads uploads in elapsed nanoseconds.
func (c *cpuServer) note(p *Profile, uploads, elapsed int64) string {
	if c == nil {
		return ""
	}
	perUpload, wait := 0.0, 0.0
	if uploads > 0 {
		perUpload = float64(c.booked) / float64(uploads) / 1e6
	}
	if c.calls > 0 {
		wait = float64(c.waited) / float64(c.calls) / 1e3
	}
	busy := 0.0
	if elapsed > 0 {
		busy = float64(c.booked) / float64(elapsed) / float64(len(c.free))
	}
	return fmt.Sprintf("cpu: the setup's own CPU contention is modelled: %d cores shared by the devices' staging PUTs and the handlers' calls, each booking %.2f of its latency as CPU time in call order (%.2f ms CPU per upload, %.0f%% of the cores over the plan, %.1f µs mean wait for a core); timers fire late by cpu.wake (median %s); polls and the push hub book no CPU",
		len(c.free), c.share, perUpload, 100*busy, wait, time.Duration(secondsNs(distMedian(p.CPU.Wake))))
}

// distMean is the mean of a distribution (workload.Mean); 0 for an
// operation the profile does not give.
func distMean(d scenarios.Dist) float64 {
	if d.Kind == "" {
		return 0
	}
	return workload.Mean(d)
}

// distMedian is the median of a calibrated distribution (a mix of
// uniform segments by quantile, or fixed); 0 for other kinds.
func distMedian(d scenarios.Dist) float64 {
	switch d.Kind {
	case "fixed":
		return d.Value
	case "mix":
		seen, total := 0.0, 0.0
		for _, c := range d.Mix {
			total += c.Weight
		}
		for _, c := range d.Mix {
			if seen+c.Weight >= total/2 && c.Kind == "uniform" {
				f := (total/2 - seen) / c.Weight
				return c.Min + f*(c.Max-c.Min)
			}
			seen += c.Weight
		}
	}
	return 0
}
