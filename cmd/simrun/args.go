package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/stormsim/stormsim/scenarios"
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

// loadScenario loads a file, or a built-in scenario by name ("burst").
func loadScenario(arg string) (*scenarios.Scenario, string, error) {
	if _, err := os.Stat(arg); err != nil {
		name := strings.TrimSuffix(filepath.Base(arg), ".yaml")
		if data, ok := scenarios.Builtin(name); ok {
			sc, err := scenarios.Parse("scenarios/"+name+".yaml", data)
			return sc, "scenarios/" + name + ".yaml", err
		}
	}
	sc, err := scenarios.Load(arg)
	return sc, arg, err
}

// writable makes dir and proves a file can be written there, before any
// load starts.
func writable(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("output folder: %w", err)
	}
	f, err := os.CreateTemp(dir, ".probe-*")
	if err != nil {
		return fmt.Errorf("output folder %s is not writable: %w", dir, err)
	}
	f.Close()
	return os.Remove(f.Name())
}

// interleave moves flags after the positional arguments to the front, so
// "simrun burst.yaml --seed 7" works like "simrun --seed 7 burst.yaml". It
// asks fs which flags are booleans (they take no separate value).
func interleave(fs *flag.FlagSet, args []string) []string {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i+1:]...)
			break
		}
		if strings.HasPrefix(a, "-") && a != "-" {
			flags = append(flags, a)
			name := strings.TrimLeft(a, "-")
			if !strings.Contains(name, "=") && i+1 < len(args) && !isBoolFlag(fs, name) {
				flags = append(flags, args[i+1])
				i++
			}
			continue
		}
		pos = append(pos, a)
	}
	return append(flags, pos...)
}

func isBoolFlag(fs *flag.FlagSet, name string) bool {
	if name == "h" || name == "help" {
		return true
	}
	f := fs.Lookup(name)
	if f == nil {
		return false
	}
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}
