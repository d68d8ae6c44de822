package regions

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// queue delivers S3 event keys to a handler, as S3 notifications reach a
// Lambda function: a bounded buffer, a fixed number of workers, and on a
// failure the retries of Lambda's asynchronous invocation with a growing
// wait. fate, when set, may delay an event or deliver it twice (the
// regional queue faults).
type queue struct {
	ch      chan qitem
	handle  func(ctx context.Context, key string) error
	retries int
	backoff time.Duration
	fate    func() (delay, dup time.Duration, twice bool)

	pending atomic.Int64 // queued, waiting for a retry or being handled
	dead    atomic.Int64 // retries ran out
	dups    atomic.Int64
	// invocations counts handler calls (retries and duplicates included)
	// and busyNanos the time spent in them: the Lambda usage priced.
	invocations atomic.Int64
	busyNanos   atomic.Int64
	timers      sync.WaitGroup // delayed deliveries not yet queued
	workers     sync.WaitGroup
	ctx         context.Context
	stop        context.CancelFunc
	once        sync.Once
}

type qitem struct {
	key     string
	attempt int
}

func newQueue(size, workers, retries int, backoff time.Duration, handle func(ctx context.Context, key string) error) *queue {
	ctx, stop := context.WithCancel(context.Background())
	q := &queue{ch: make(chan qitem, size), handle: handle, retries: retries, backoff: backoff, ctx: ctx, stop: stop}
	for range workers {
		q.workers.Add(1)
		go q.work()
	}
	return q
}

// emit queues an event for key, blocking while the buffer is full (the
// writer that caused it waits, as backpressure).
func (q *queue) emit(key string) {
	var delay, dupDelay time.Duration
	twice := false
	if q.fate != nil {
		delay, dupDelay, twice = q.fate()
	}
	q.after(qitem{key: key}, delay)
	if twice {
		q.dups.Add(1)
		q.after(qitem{key: key}, delay+dupDelay)
	}
}

// after queues it after d (at once when d is 0).
func (q *queue) after(it qitem, d time.Duration) {
	q.pending.Add(1)
	if d <= 0 {
		q.put(it)
		return
	}
	q.timers.Add(1)
	time.AfterFunc(d, func() {
		defer q.timers.Done()
		q.put(it)
	})
}

func (q *queue) put(it qitem) {
	select {
	case q.ch <- it:
	case <-q.ctx.Done():
		q.pending.Add(-1)
	}
}

func (q *queue) work() {
	defer q.workers.Done()
	for {
		select {
		case <-q.ctx.Done():
			return
		case it := <-q.ch:
			q.run(it)
		}
	}
}

func (q *queue) run(it qitem) {
	start := time.Now()
	err := q.handle(q.ctx, it.key)
	q.invocations.Add(1)
	q.busyNanos.Add(int64(time.Since(start)))
	switch {
	case err == nil || q.ctx.Err() != nil:
	case it.attempt < q.retries:
		it.attempt++
		q.after(it, q.backoff<<(it.attempt-1))
	default:
		q.dead.Add(1)
	}
	q.pending.Add(-1)
}

// idle reports whether nothing is queued, delayed or being handled.
func (q *queue) idle() bool { return q.pending.Load() == 0 }

// close stops the workers and drops what is still queued; idempotent.
func (q *queue) close() {
	q.once.Do(func() {
		q.stop()
		q.timers.Wait()
		q.workers.Wait()
	})
}
