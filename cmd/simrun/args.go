package main

import (
	"fmt"
	"path/filepath"
	"strconv"
	"time"
)

// seedOf is the run's seed: the --seed flag when given, else the
// scenario's own.
func seedOf(flag string, scenarioSeed uint64) (uint64, error) {
	if flag == "" {
		return scenarioSeed, nil
	}
	seed, err := strconv.ParseUint(flag, 10, 64)
	if err != nil {
		return 0, usagef("--seed %q: not a non-negative integer", flag)
	}
	return seed, nil
}

// defaultOut names a fresh output folder under runs/ when --out is empty:
// runs/NAME-YYYYMMDD-HHMMSS.
func defaultOut(flag, name string) string {
	if flag != "" {
		return flag
	}
	return filepath.Join("runs", fmt.Sprintf("%s-%s", name, time.Now().Format("20060102-150405")))
}
