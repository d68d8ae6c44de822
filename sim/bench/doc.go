// Package bench measures the embedded fakes' operation rates and a
// reference pipeline (simrun bench, simrun bench-ref), and derives the
// ceiling they put on a run's throughput.
package bench
