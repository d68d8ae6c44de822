package traffic

import "time"

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
