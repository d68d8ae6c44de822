//go:build !race

package schedsim_test

const raceEnabled = false
