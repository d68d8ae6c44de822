// Package traffic is the devices: it turns a workload plan into uploads
// (staging PUTs or multipart uploads), learns each outcome by push or by
// polling the result API on a schedule (the first-poll estimator), chains
// a device's follow-on edits of one file and drives only the users of its
// shard. Every record it makes goes to one Sink the run gives it.
package traffic

import (
	"context"
	"sync"
	"time"

	"github.com/stormsim/stormsim/coordinator"
	"github.com/stormsim/stormsim/scenarios"
	"github.com/stormsim/stormsim/sim/env"
	"github.com/stormsim/stormsim/sim/history"
	"github.com/stormsim/stormsim/sim/workload"
)

// Sink receives what the devices record, in the order they record it.
type Sink interface {
	// Started is an upload starting at at, lag after it could have (the
	// harness's own launch lag).
	Started(at time.Time, lag time.Duration)
	// Polled is one answer of the result API (err when the poll failed).
	Polled(p history.Poll, err error)
	// TimerLate is how late a device's poll timer fired.
	TimerLate(d time.Duration)
	// Pushed is a push notification as it arrived (PushHub).
	Pushed(p history.Push)
	// Finished is an upload's end; decided is when the server decided
	// (zero when unknown) and errKind names a failure ("" for none).
	Finished(u *history.Upload, decided time.Time, errKind string)
}

// Devices are a scenario's devices and what they talk to.
type Devices struct {
	Scenario *scenarios.Scenario
	Seed     uint64
	Shard    Shard
	// MaxInFlight bounds concurrent uploads (open model).
	MaxInFlight int
	Env         *env.Env
	// Coord names the staging keys.
	Coord *coordinator.Coordinator
	// API is the result API's base URL; Tokens sign the devices' polls.
	API    string
	Tokens coordinator.Tokens
	// Push hands out pushes; nil when the scenario has none.
	Push *PushHub
	// Hostile, when set, names the hostile input an upload should carry
	// ("" for none).
	Hostile func() string
	Sink    Sink
	Now     func() time.Time

	cfg         config
	presignOnce sync.Once
	presigner   *presigner // nil when the SDK presigns
	tokensMu    sync.RWMutex
	tokens      map[string][]string // user -> Authorization value, bounded by the population
	heads       *heads
	est         *estimator
	multipart   chan struct{}
}

// Run launches the plan's uploads from start until the plan ends or actx
// stops the arrivals, and waits for them; uploads in flight run on uctx.
// It returns the uploads launched and the arrival window.
func (dev *Devices) Run(actx, uctx context.Context, plan *workload.Plan, start time.Time) (int64, time.Duration) {
	sc := dev.Scenario
	dev.cfg = newConfig(sc)
	dev.heads = newHeads(sc.Population.Users * sc.Population.FilesPerUser)
	dev.est = newEstimator()
	dev.multipart = make(chan struct{}, 16)
	if sc.Model == "closed" {
		return dev.closed(actx, uctx, plan, start)
	}
	return dev.open(actx, uctx, plan, start)
}
