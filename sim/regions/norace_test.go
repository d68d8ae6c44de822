//go:build !race

package regions

// raceEnabled: the test binary was built with -race (several times slower).
const raceEnabled = false
