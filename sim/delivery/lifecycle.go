package delivery

import (
	"context"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/stormsim/stormsim/internal/syncx"
)

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
