package delivery

import (
	"container/heap"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

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

func (d *Delivery) quitting() bool {
	select {
	case <-d.quit:
		return true
	default:
		return false
	}
}

// Stop makes the workers take no new event and waits up to grace for the
// invocations in progress to end on their own. Ending a run this way, not
// by cancelling handlers mid-work, leaves every decision either made in
// full or not begun, so the read-back after it sees a consistent state and
// the events left behind are the pending ones. Close must follow.
func (d *Delivery) Stop(grace time.Duration) {
	d.quitOne.Do(func() { close(d.quit) })
	done := make(chan struct{})
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		d.workers.Wait()
		close(done)
	}()
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
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
