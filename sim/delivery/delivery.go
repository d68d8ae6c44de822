package delivery

import (
	"context"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/stormsim/stormsim/internal/syncx"
)

// Config shapes how S3 notifications reach the handler.
type Config struct {
	Workers   int // the Lambda concurrency limit
	QueueSize int // bound of the ready queue; a full queue blocks the emitter
	Retries   int // Lambda async retries after a failed invocation (2)
	// RetryDelay is the wait before the first retry; it doubles after.
	RetryDelay time.Duration
	Delay      func(r *rand.Rand) time.Duration // extra delivery delay; nil = none
	Duplicate  float64                          // probability of a second copy
	Reorder    float64                          // probability of being held back
	Seed       uint64
	// OnResult, when set, learns how each invocation ended.
	OnResult func(err error, willRetry bool, took time.Duration)
	// OnWait, when set, learns how long each event waited in the ready
	// queue for a free worker (the concurrency limit's backlog, and on a
	// starved machine the workers' own scheduling delay).
	OnWait func(time.Duration)
}

// Handler is what the delivery invokes: a Lambda-style S3 event handler.
type Handler func(ctx context.Context, ev events.S3Event) error

// Delivery turns notifications into handler invocations: a bounded ready
// queue, a timer heap for delayed and retried events, and a fixed pool of
// workers. It owns all its goroutines; Close waits for them.
type Delivery struct {
	cfg     Config
	handler Handler
	ready   chan item
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup // every goroutine
	workers sync.WaitGroup // the workers only (Stop waits for them)
	quit    chan struct{}  // closed by Stop: workers take no new event
	quitOne sync.Once

	pending atomic.Int64 // emitted or retried events not yet finished
	stats   Stats
	arn     atomic.Pointer[arn] // the last bucket's ARN

	// running[w] is the object key worker w is invoking the handler for
	// ("" when idle), under its own lock: the hot path takes no shared one.
	running []runningKey

	mu      sync.Mutex // guards rng, timers, wake, idle, dropped, fate, dead, stopped, parked
	rng     *rand.Rand
	timers  itemHeap
	wake    chan struct{}
	idle    chan struct{} // closed and replaced when pending reaches 0
	dropped func(ev events.S3EventRecord) bool
	fate    func(ev events.S3EventRecord) EventFate
	dead    map[string]bool // object keys whose events went to the dead-letter queue (capped)
	stopped map[string]bool // keys running when Close stopped the workers
	parked  []item          // events a worker took after Stop or Close, not run

	drainOnce  sync.Once
	drainBegin func()                                 // set before the drain; see SetDrain
	drainSweep func(ctx context.Context) (int, error) // set before the drain; see SetDrain
}

// EventFate is what a fault does to one S3 notification, on top of the
// configured delay, duplication and reordering.
type EventFate struct {
	Drop      bool          // the notification is lost
	Duplicate bool          // it is delivered twice
	Delay     time.Duration // every copy comes this much later
	// HoldBack delays the first copy only, so that later notifications
	// overtake it (reordering).
	HoldBack time.Duration
}

// item is one event copy waiting for a worker: the fields its S3 record
// is built from at invocation (record), not the record itself: 96 bytes
// against about 350, which for the default 65,536 preallocated slots of
// the ready queue is 6 MiB against 23 MiB.
type item struct {
	bucket, key string
	size        int64
	eventTime   time.Time
	attempt     int
	at          time.Time // when it is due (timer heap) or became ready
}

// record is the S3 notification of it, as Emit built it for the faults.
func (d *Delivery) record(it *item) events.S3EventRecord {
	return events.S3EventRecord{
		EventVersion: "2.1", EventSource: "aws:s3", AWSRegion: "us-east-1",
		EventTime: it.eventTime, EventName: "ObjectCreated:Put",
		S3: events.S3Entity{SchemaVersion: "1.0", Bucket: events.S3Bucket{Name: it.bucket, Arn: d.bucketARN(it.bucket)},
			Object: events.S3Object{Key: it.key, Size: it.size}},
	}
}

// New starts the workers and the timer loop.
func New(cfg Config, h Handler) *Delivery {
	if cfg.Workers <= 0 {
		cfg.Workers = 64
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = 65536
	}
	if cfg.RetryDelay <= 0 {
		cfg.RetryDelay = 200 * time.Millisecond
	}
	ctx, cancel := context.WithCancel(context.Background())
	d := &Delivery{cfg: cfg, handler: h, ready: make(chan item, cfg.QueueSize), ctx: ctx, cancel: cancel,
		rng: rand.New(rand.NewPCG(cfg.Seed, 0x5eed)), wake: make(chan struct{}, 1), idle: make(chan struct{}),
		running: make([]runningKey, cfg.Workers), dead: map[string]bool{}, quit: make(chan struct{})}
	for w := range cfg.Workers {
		d.wg.Add(1)
		d.workers.Add(1)
		go d.worker(&d.running[w])
	}
	d.wg.Add(1)
	go d.timerLoop()
	return d
}

// SetDropFilter installs a fault: events for which drop returns true are
// lost (S3 notifications are not guaranteed).
func (d *Delivery) SetDropFilter(drop func(ev events.S3EventRecord) bool) {
	d.mu.Lock()
	d.dropped = drop
	d.mu.Unlock()
}

// SetFate installs a fault that decides each notification's fate (nil
// removes it). It is called under the delivery's lock: it must not call
// back into the delivery.
func (d *Delivery) SetFate(fate func(ev events.S3EventRecord) EventFate) {
	d.mu.Lock()
	d.fate = fate
	d.mu.Unlock()
}

// SetDrain makes Wait the drain of a run with faults: the first Wait calls
// begin (which lifts the faults), and whenever no event is pending Wait
// runs sweep (the reconciler) and returns only once a sweep found nothing
// to do, so uploads whose events were lost or gave up still end. Call it
// before the first Wait.
func (d *Delivery) SetDrain(begin func(), sweep func(ctx context.Context) (int, error)) {
	d.drainBegin, d.drainSweep = begin, sweep
}

// Hold counts outside work (a reconciler pass) as pending until release,
// so that Wait does not return in its middle. release is idempotent.
func (d *Delivery) Hold() (release func()) {
	d.pending.Add(1)
	var once sync.Once
	return func() { once.Do(d.finish) }
}

// Emit reports a completed staging write, as S3 would.
func (d *Delivery) Emit(bucket, key string, size int64, now time.Time) {
	ev := item{bucket: bucket, key: key, size: size, eventTime: now}
	rec := d.record(&ev)
	d.stats.Emitted.Add(1)
	d.mu.Lock()
	if d.dropped != nil && d.dropped(rec) {
		d.mu.Unlock()
		d.stats.Dropped.Add(1)
		return
	}
	var fate EventFate
	if d.fate != nil {
		fate = d.fate(rec)
	}
	if fate.Drop {
		d.mu.Unlock()
		d.stats.Dropped.Add(1)
		return
	}
	copies := 1
	if d.cfg.Duplicate > 0 && d.rng.Float64() < d.cfg.Duplicate || fate.Duplicate {
		copies = 2
		d.stats.Duplicated.Add(1)
	}
	delays := make([]time.Duration, copies)
	for i := range delays {
		if d.cfg.Delay != nil {
			delays[i] = d.cfg.Delay(d.rng)
		}
		if d.cfg.Reorder > 0 && d.rng.Float64() < d.cfg.Reorder {
			// Held back behind later events: an extra delay of up to 200ms.
			delays[i] += time.Duration(d.rng.Int64N(int64(200 * time.Millisecond)))
			d.stats.Reordered.Add(1)
		}
		delays[i] += fate.Delay
	}
	if fate.HoldBack > 0 {
		delays[0] += fate.HoldBack
		d.stats.Reordered.Add(1)
	}
	d.mu.Unlock()
	for _, dl := range delays {
		d.pending.Add(1)
		d.schedule(ev, dl)
	}
}

// bucketARN is bucket's ARN, built once for the bucket a run uses.
func (d *Delivery) bucketARN(bucket string) string {
	if a := d.arn.Load(); a != nil && a.bucket == bucket {
		return a.arn
	}
	a := &arn{bucket: bucket, arn: "arn:aws:s3:::" + bucket}
	d.arn.Store(a)
	return a.arn
}

type arn struct{ bucket, arn string }

// Pending is the number of events not yet finished (queued, delayed,
// running or waiting for a retry).
func (d *Delivery) Pending() int64 { return d.pending.Load() }

// Wait blocks until no event is pending or ctx ends; with SetDrain, it is
// the drain (see there).
func (d *Delivery) Wait(ctx context.Context) error {
	d.drainOnce.Do(func() {
		if d.drainBegin != nil {
			d.drainBegin()
		}
	})
	// A sweep that keeps finding work (something it cannot clean) must not
	// hold the drain forever: a few rounds, then the leftovers are the
	// checker's to report.
	for round := 0; ; round++ {
		if err := d.waitIdle(ctx); err != nil || d.drainSweep == nil || round == 10 {
			return err
		}
		n, err := d.drainSweep(ctx)
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case err != nil:
			syncx.Sleep(ctx, 200*time.Millisecond) // e.g. S3 still failing: sweep again
		case n == 0:
			return nil
		}
	}
}

// waitIdle blocks until no event is pending or ctx ends.
func (d *Delivery) waitIdle(ctx context.Context) error {
	for {
		d.mu.Lock()
		idle := d.idle
		d.mu.Unlock()
		if d.pending.Load() == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-idle:
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Close stops the workers (abandoning pending events) and waits for them.
// It is idempotent.
func (d *Delivery) Close() {
	d.mu.Lock()
	if d.stopped == nil {
		// What was running when the workers were stopped, before the
		// cancelled handlers return and forget it.
		d.stopped = map[string]bool{}
		for w := range d.running {
			if k := d.running[w].get(); k != "" {
				d.stopped[k] = true
			}
		}
	}
	d.mu.Unlock()
	d.cancel()
	d.wg.Wait()
}
