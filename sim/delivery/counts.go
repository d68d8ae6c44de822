package delivery

import (
	"sync/atomic"

	"github.com/stormsim/stormsim/sim/history"
)

// Stats counts what happened to events.
type Stats struct {
	Emitted, Duplicated, Reordered, Dropped atomic.Int64
	Invocations, Failures, Retries, Dead    atomic.Int64
}

// maxDeadKeys bounds the keys Delivery remembers as dead-lettered (for
// Abandoned); past it, further dead events are reported as lost.
const maxDeadKeys = 1 << 16

// Stats returns the counters.
func (d *Delivery) Stats() *Stats { return &d.stats }

// Abandoned returns, after Close, the object keys whose events Close left
// unfinished, with where each was (history.Pending* reasons): in the ready
// queue or waiting out a delivery delay (queued), waiting for a retry
// (retrying), inside a stopped handler (running), or given up (dead). A
// key may have several events; the most advanced state wins. Keys with no
// event left at all (dropped, never reconciled) are not listed.
func (d *Delivery) Abandoned() map[string]string {
	out := map[string]string{}
	rank := map[string]int{history.PendingQueued: 1, history.PendingRetrying: 2, history.PendingDead: 3, history.PendingRunning: 4}
	set := func(key, reason string) {
		if rank[reason] > rank[out[key]] {
			out[key] = reason
		}
	}
ready:
	for {
		select {
		case it := <-d.ready:
			if it.attempt > 0 {
				set(it.key, history.PendingRetrying)
			} else {
				set(it.key, history.PendingQueued)
			}
		default:
			break ready
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, it := range append(d.parked, d.timers...) {
		if it.attempt > 0 {
			set(it.key, history.PendingRetrying)
		} else {
			set(it.key, history.PendingQueued)
		}
	}
	for k := range d.dead {
		set(k, history.PendingDead)
	}
	for k := range d.stopped {
		set(k, history.PendingRunning)
	}
	return out
}

// Counts are the delivery's counters at the end (results.json
// harness.delivery, hence the tags).
type Counts struct {
	Emitted     int64 `json:"emitted"`
	Duplicated  int64 `json:"duplicated"`
	Reordered   int64 `json:"reordered"`
	Dropped     int64 `json:"dropped"`
	Invocations int64 `json:"invocations"`
	Failures    int64 `json:"failures"`
	Retries     int64 `json:"retries"`
	Dead        int64 `json:"dead"`
}

// Counts are the counters now.
func (d *Delivery) Counts() Counts {
	s := &d.stats
	return Counts{Emitted: s.Emitted.Load(), Duplicated: s.Duplicated.Load(), Reordered: s.Reordered.Load(),
		Dropped: s.Dropped.Load(), Invocations: s.Invocations.Load(), Failures: s.Failures.Load(),
		Retries: s.Retries.Load(), Dead: s.Dead.Load()}
}
