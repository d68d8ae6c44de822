package main

import (
	"os"
	"path/filepath"
	"testing"
)

// Commands and flags a multi-region run does not honour are refused
// before anything runs or is created, never silently run as one region.
func TestRun_Regions_Refused(t *testing.T) {
	const sc = "../../scenarios/regions.yaml"
	for _, tt := range []struct {
		name string
		args []string
	}{
		{"repeat", []string{"--repeat", "2", sc}},
		{"shard", []string{"--shard", "0/2", sc}},
		{"real redis", []string{"--redis", "127.0.0.1:1", sc}},
		{"sweep", []string{"sweep", sc, "--param", "rate=10..20x2"}},
		{"bench", []string{"bench", sc}},
		{"matrix", []string{"selftest", "--matrix", sc}},
		{"start-at", []string{"--start-at", "2030-01-01T00:00:00Z", sc}},
		{"metrics-addr", []string{"--metrics-addr", "127.0.0.1:0", sc}},
		{"cpuprofile", []string{"--cpuprofile", "cpu.out", sc}},
		{"plan of an outage", []string{"plan", sc}}, // a plan models regions, not regional outages
	} {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			args := append([]string{}, tt.args...)
			switch tt.args[0] {
			case "sweep", "bench", "selftest":
			case "plan":
				args = []string{"plan", "--out", out, "../../scenarios/regions-faults.yaml"}
			default:
				args = append([]string{"--out", out}, args...)
			}
			if got := run(args); got != exitUsage {
				t.Errorf("exit %d, want %d", got, exitUsage)
			}
			if _, err := os.Stat(out); err == nil {
				t.Errorf("%s was created", out)
			}
		})
	}
}
