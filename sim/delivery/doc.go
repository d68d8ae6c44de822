// Package delivery turns S3 notifications into handler invocations, as
// Lambda's event source does: a bounded queue, workers, retries, dead
// letters, duplicated, delayed, reordered and dropped events (Delivery),
// and the hand-off to coordinator processes outside the harness through a
// shared Redis Stream (Feed).
package delivery
