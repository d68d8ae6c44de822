package regions

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/stormsim/stormsim/scenarios"
	"github.com/stormsim/stormsim/sim/history"
)

// faultRun applies the scenario's regional fault windows on the wall
// clock and records each as a fault record when it ends.
type faultRun struct {
	cancel context.CancelFunc
	done   sync.WaitGroup
}

// active is the set of queue faults in force, read by the replication
// queues' fate.
type active struct {
	mu    sync.Mutex // guards on
	on    map[int]bool
	specs []scenarios.RegionFault
}

func (a *active) set(i int, v bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.on[i] = v
}

// startFaults starts one goroutine per fault window; stop ends every
// window still open (the drain outlived it) and waits for them.
func (r *run) startFaults(ctx context.Context) *faultRun {
	ctx, cancel := context.WithCancel(ctx)
	fr := &faultRun{cancel: cancel}
	for i, f := range r.sc.Regions.Faults {
		fr.done.Add(1)
		go func() {
			defer fr.done.Done()
			r.fault(ctx, i, f)
		}()
	}
	return fr
}

func (fr *faultRun) stop() {
	fr.cancel()
	fr.done.Wait()
}

// fault runs one window: on at start, off at end (or when the run stops).
func (r *run) fault(ctx context.Context, i int, f scenarios.RegionFault) {
	if !sleepUntil(ctx, r.start.Add(f.Start)) {
		return
	}
	from := time.Now()
	r.toggle(i, f, true)
	sleepUntil(ctx, r.start.Add(f.End))
	r.toggle(i, f, false)
	r.rec.write(history.Fault{T: history.KindFault, Kind: f.Kind, From: from, To: time.Now()})
}

func (r *run) toggle(i int, f scenarios.RegionFault, on bool) {
	switch f.Kind {
	case scenarios.RegionFaultPartition, scenarios.RegionFaultStorageDown:
		r.net.set(f.Kind, r.sc.Regions.Index(f.Region), on)
	case scenarios.RegionFaultRedisDown:
		r.sites[r.sc.Regions.Index(f.Region)].redisDown(on)
	default:
		r.queueFaults.set(i, on)
	}
}

// queueFate draws, for each replication event, the delay and duplication
// of the queue faults in force.
func (r *run) queueFate(rng *rand.Rand) func() (time.Duration, time.Duration, bool) {
	var mu sync.Mutex // guards rng
	a := r.queueFaults
	return func() (delay, dup time.Duration, twice bool) {
		a.mu.Lock()
		defer a.mu.Unlock()
		mu.Lock()
		defer mu.Unlock()
		for i, f := range a.specs {
			if !a.on[i] || rng.Float64() >= f.Probability {
				continue
			}
			switch f.Kind {
			case scenarios.RegionFaultQueueDelay:
				delay += f.Latency
			case scenarios.RegionFaultQueueDup:
				twice, dup = true, time.Duration(rng.Int64N(int64(f.Latency)+1))
			}
		}
		return delay, dup, twice
	}
}

// sleepUntil waits until t; false when ctx ended first.
func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return true
	case <-ctx.Done():
		return false
	}
}
