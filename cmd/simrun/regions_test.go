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
	} {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			args := append([]string{}, tt.args...)
			if tt.args[0] != "sweep" && tt.args[0] != "bench" && tt.args[0] != "selftest" {
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
