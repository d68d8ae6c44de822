//go:build !race

package workload

// raceEnabled: the tests run under the race detector.
const raceEnabled = false
