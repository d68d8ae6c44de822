package traffic

import (
	"sync/atomic"
	"time"
)

// Estimator is the devices' first-poll estimator (wait.poll.first_delay
// auto), exported so that the capacity model (model/) plays the same rule
// instead of restating it. It is safe for concurrent use.
type Estimator struct{ e *estimator }

// NewEstimator returns an estimator at its starting estimate.
func NewEstimator() Estimator { return Estimator{newEstimator()} }

// Observe feeds a decision time (staged to decided) into the estimate.
func (e Estimator) Observe(d time.Duration) { e.e.observe(d) }

// Pending records a "pending" answer at age (since staging).
func (e Estimator) Pending(age time.Duration) { e.e.pending(age) }

// FirstPoll is the wait from staging to the first poll of size bytes.
func (e Estimator) FirstPoll(size int64) time.Duration { return e.e.firstPoll(size) }

// NextPoll is the wait after a pending answer at age, interval being the
// back-off schedule's.
func (e Estimator) NextPoll(age, interval time.Duration) time.Duration {
	return e.e.nextPoll(age, interval)
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
