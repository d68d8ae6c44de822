package traffic

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stormsim/stormsim/internal/syncx"
	"github.com/stormsim/stormsim/scenarios"
	"github.com/stormsim/stormsim/sim/workload"
)

// Shard is slice I of N of a scenario's users.
type Shard struct{ I, N int }

// Owns reports whether the shard drives user u.
func (s Shard) Owns(u int) bool { return s.N <= 1 || u%s.N == s.I }

type arrival struct {
	id, user, device, path string
	phase                  string
	fileIndex              int
	size                   int64
	stale                  int
	contentSeed            uint64
	intended               time.Time
	// after, for a follow-on edit, is closed when the device's previous
	// upload (of the same file) has ended: the edit starts from the head
	// that upload taught it.
	after    <-chan struct{}
	slotWait time.Duration // waited for an in-flight slot (MaxInFlight)
}

type config struct {
	push               bool
	firstDelay         time.Duration
	autoFirst          bool
	pollInterval       time.Duration
	maxInterval        time.Duration
	backoff            float64
	maxPolls           int
	pollTimeout        time.Duration
	multipartThreshold int64
	partSize           int64
}

func newConfig(sc *scenarios.Scenario) config {
	p := sc.Wait.Poll
	c := config{push: sc.Wait.Push, firstDelay: p.FirstDelayFixed, autoFirst: p.FirstDelay == "auto" || p.FirstDelay == "",
		pollInterval: p.Interval, maxInterval: p.MaxInterval, backoff: p.Backoff, maxPolls: p.MaxPolls,
		pollTimeout: p.Timeout, multipartThreshold: sc.Sizes.MultipartThreshold, partSize: sc.Sizes.PartSize}
	if c.pollInterval <= 0 {
		c.pollInterval = 100 * time.Millisecond
	}
	if c.maxInterval < c.pollInterval {
		c.maxInterval = c.pollInterval
	}
	if c.backoff < 1 {
		c.backoff = 1
	}
	if c.pollTimeout <= 0 {
		c.pollTimeout = 30 * time.Second
	}
	if c.multipartThreshold <= 0 {
		c.multipartThreshold = 8 << 20
	}
	if c.partSize < 5<<20 {
		c.partSize = 5 << 20
	}
	return c
}

// open launches the planned arrivals at their instants (open model)
// and waits for every upload to end or ctx to stop the arrivals.
func (dev *Devices) open(ctx, uctx context.Context, plan *workload.Plan, start time.Time) (int64, time.Duration) {
	sem := make(chan struct{}, dev.MaxInFlight)
	var wg sync.WaitGroup
	var launched int64
	var last time.Duration
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	names := newNamer(dev.Seed, dev.Scenario)
	chain := newDeviceChain(dev.Scenario)
loop:
	for {
		a, ok := plan.Next()
		if !ok {
			break
		}
		if !dev.Shard.Owns(a.User) {
			continue
		}
		last = a.At
		if d := time.Until(start.Add(a.At)); d > 0 {
			timer.Reset(d)
			select {
			case <-ctx.Done():
				break loop
			case <-timer.C:
			}
		}
		// The clock is read only when no slot is free: a wait for one is
		// the system's backlog, not the harness's launch lag.
		var slotWait time.Duration
		select {
		case sem <- struct{}{}:
		default:
			waited := time.Now()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				break loop
			}
			slotWait = time.Since(waited)
		}
		arr := names.arrival(a, start)
		arr.slotWait = slotWait
		done := chain.link(&arr, a)
		launched++
		wg.Add(1)
		// The goroutine stages the upload and returns; the upload ends,
		// and gives its slot back, when its outcome is known (waiter).
		go dev.upload(uctx, arr, func() {
			if done != nil {
				close(done)
			}
			<-sem
			wg.Done()
		})
	}
	wg.Wait()
	return launched, last
}

// closed runs each closed-model device in a loop: upload, learn
// the outcome, think, until its iterations, the duration or the upload cap
// end it.
func (dev *Devices) closed(ctx, uctx context.Context, plan *workload.Plan, start time.Time) (int64, time.Duration) {
	var launched atomic.Int64
	var wg sync.WaitGroup
	names := newNamer(dev.Seed, dev.Scenario)
	for d := range dev.Scenario.Closed.Devices {
		if u, _ := workload.ClosedDevice(dev.Scenario, d); !dev.Shard.Owns(u) {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				a, ok := plan.NextFor(d)
				if !ok {
					return
				}
				syncx.Sleep(ctx, a.At)
				if ctx.Err() != nil || dev.Scenario.Duration > 0 && time.Since(start) >= dev.Scenario.Duration {
					return
				}
				if n := launched.Add(1); dev.Scenario.Uploads > 0 && n > dev.Scenario.Uploads {
					launched.Add(-1)
					return
				}
				a.At = time.Since(start) // closed model: the intended instant is now
				ended := make(chan struct{})
				dev.upload(uctx, names.arrival(a, start), func() { close(ended) })
				<-ended
			}
		}()
	}
	wg.Wait()
	return launched.Load(), time.Since(start)
}

// heads is each file's latest version as the devices know it: what a sync
// client would hold after its pushes.
type heads struct{ v []atomic.Int64 }

func newHeads(n int) *heads      { return &heads{v: make([]atomic.Int64, max(n, 1))} }
func (h *heads) get(i int) int64 { return h.v[i].Load() }
func (h *heads) learn(i int, version int64) {
	for {
		old := h.v[i].Load()
		if version <= old || h.v[i].CompareAndSwap(old, version) {
			return
		}
	}
}

// estimator predicts when an upload's decision will be ready from recent
// processing times, so polls are not wasted. Decisions pull the estimate
// towards what they took; a "pending" answer at age a proves the current
// processing time exceeds a and pushes the estimate up at once, which is
// what keeps a burst's backlog from turning into a storm of polls.
type estimator struct{ ns atomic.Int64 }

func newEstimator() *estimator {
	e := &estimator{}
	e.ns.Store(int64(50 * time.Millisecond))
	return e
}

func (e *estimator) observe(d time.Duration) {
	for {
		old := e.ns.Load()
		if e.ns.CompareAndSwap(old, old+(int64(d)-old)/16) {
			return
		}
	}
}

func (e *estimator) pending(age time.Duration) {
	for {
		old := e.ns.Load()
		// A quarter of the way towards the age, not all of it: one upload
		// stuck for a reason of its own (a lost event the reconciler will
		// find) must not make every other device wait for seconds.
		if int64(age) <= old || e.ns.CompareAndSwap(old, old+(int64(age)-old)/4) {
			return
		}
	}
}

func (e *estimator) get() time.Duration { return time.Duration(e.ns.Load()) }

// firstPoll waits for the typical decision time plus the time to read the
// content back for its checksum (at about 200 MB/s).
func (e *estimator) firstPoll(size int64) time.Duration {
	return time.Duration(float64(e.get())*1.25) + time.Duration(size/200)*time.Microsecond
}

// nextPoll is the wait after a pending answer at age: the backoff schedule,
// or longer when the estimate says the decision is further away.
func (e *estimator) nextPoll(age, interval time.Duration) time.Duration {
	return max(interval, time.Duration(float64(e.get())*1.25)-age)
}

// namer turns planned arrivals into names and ids.
type namer struct {
	sc    *scenarios.Scenario
	idKey uint64
}

func newNamer(seed uint64, sc *scenarios.Scenario) *namer {
	return &namer{sc: sc, idKey: rand.New(rand.NewPCG(seed, 0x1d)).Uint64()}
}

func (n *namer) arrival(a workload.Arrival, start time.Time) arrival {
	p := n.sc.Population
	return arrival{
		id:          fmt.Sprintf("%016x-%08x", n.idKey, a.Seq),
		user:        fmt.Sprintf("u%05d", a.User),
		device:      fmt.Sprintf("dev%02d", a.Device),
		path:        filePath(a.File, p.HotFiles),
		phase:       a.Phase,
		fileIndex:   a.User*p.FilesPerUser + a.File,
		size:        a.Size,
		stale:       a.Stale,
		contentSeed: a.ContentSeed,
		intended:    start.Add(a.At),
	}
}

var exts = []string{".txt", ".docx", ".jpg", ".pdf", ""}

func filePath(file, hot int) string {
	if file < hot {
		return fmt.Sprintf("shared/hot-%d%s", file, exts[file%len(exts)])
	}
	return fmt.Sprintf("docs/file-%04d%s", file, exts[file%len(exts)])
}
