package delivery

import (
	"container/heap"
	"context"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"
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

// schedule hands it to a worker now (through the bounded ready queue) or,
// with a delay, to the timer loop's heap.
func (d *Delivery) schedule(it item, delay time.Duration) {
	if delay <= 0 {
		it.at = time.Now()
		select {
		case d.ready <- it:
		case <-d.ctx.Done():
			d.finish()
		}
		return
	}
	it.at = time.Now().Add(delay)
	d.mu.Lock()
	heap.Push(&d.timers, it)
	d.mu.Unlock()
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

func (d *Delivery) timerLoop() {
	defer d.wg.Done()
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		d.mu.Lock()
		var due []item
		now := time.Now()
		for d.timers.Len() > 0 && !d.timers[0].at.After(now) {
			due = append(due, heap.Pop(&d.timers).(item))
		}
		next := time.Hour
		if d.timers.Len() > 0 {
			next = d.timers[0].at.Sub(now)
		}
		d.mu.Unlock()
		for i, it := range due {
			select {
			case d.ready <- it:
			case <-d.ctx.Done():
				// Back on the heap, so Abandoned still sees them.
				d.mu.Lock()
				for _, rest := range due[i:] {
					heap.Push(&d.timers, rest)
				}
				d.mu.Unlock()
				return
			}
		}
		t.Reset(next)
		select {
		case <-d.ctx.Done():
			return
		case <-d.wake:
		case <-t.C:
		}
	}
}

// runningKey is one worker's invocation in progress, for Close.
type runningKey struct {
	mu  sync.Mutex
	key string
}

func (k *runningKey) set(key string) {
	k.mu.Lock()
	k.key = key
	k.mu.Unlock()
}
func (k *runningKey) get() string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.key
}
func (d *Delivery) worker(run *runningKey) {
	defer d.wg.Done()
	defer d.workers.Done()
	for {
		select {
		case <-d.ctx.Done():
			return
		case <-d.quit:
			return
		case it := <-d.ready:
			if d.ctx.Err() != nil || d.quitting() {
				// select picks at random among ready cases: an event taken
				// after Stop or Close is kept for Abandoned, not run.
				d.mu.Lock()
				d.parked = append(d.parked, it)
				d.mu.Unlock()
				return
			}
			d.invoke(it, run)
		}
	}
}
func (d *Delivery) invoke(it item, run *runningKey) {
	d.stats.Invocations.Add(1)
	began := time.Now()
	if d.cfg.OnWait != nil && !it.at.IsZero() {
		d.cfg.OnWait(began.Sub(it.at))
	}
	key := it.key
	run.set(key)
	err := d.handler(d.ctx, events.S3Event{Records: []events.S3EventRecord{d.record(&it)}})
	run.set("")
	if d.cfg.OnResult != nil && d.ctx.Err() == nil {
		d.cfg.OnResult(err, err != nil && it.attempt < d.cfg.Retries, time.Since(began))
	}
	if err == nil || d.ctx.Err() != nil {
		d.finish()
		return
	}
	d.stats.Failures.Add(1)
	if it.attempt >= d.cfg.Retries {
		d.stats.Dead.Add(1) // Lambda gives up: the event goes to the dead-letter queue
		d.mu.Lock()
		if len(d.dead) < maxDeadKeys {
			d.dead[key] = true
		}
		d.mu.Unlock()
		d.finish()
		return
	}
	d.stats.Retries.Add(1)
	it.attempt++
	d.schedule(it, d.cfg.RetryDelay<<(it.attempt-1))
}
func (d *Delivery) finish() {
	if d.pending.Add(-1) == 0 {
		d.mu.Lock()
		close(d.idle)
		d.idle = make(chan struct{})
		d.mu.Unlock()
	}
}

type itemHeap []item

func (h itemHeap) Len() int           { return len(h) }
func (h itemHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h itemHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *itemHeap) Push(x any)        { *h = append(*h, x.(item)) }
func (h *itemHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	*h = old[:len(old)-1]
	return it
}
