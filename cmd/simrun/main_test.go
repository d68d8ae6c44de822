package main

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
)

func TestRun_ExitCodes(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("name: x\nphases:\n  - {kind: constant, rate: -3, duration: 1s}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ro := filepath.Join(dir, "ro")
	if err := os.WriteFile(ro, []byte("a file, not a folder"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want int
	}{
		{"no scenario", nil, exitUsage},
		{"missing file", []string{"nope.yaml"}, exitUsage},
		{"invalid scenario", []string{bad}, exitUsage},
		{"validate invalid", []string{"validate", bad}, exitUsage},
		{"validate builtins", []string{"validate", "../../scenarios/ci.yaml", "../../scenarios/burst.yaml"}, exitPass},
		{"bad seed", []string{"--seed", "x", "../../scenarios/ci.yaml"}, exitUsage},
		{"unwritable out", []string{"--out", filepath.Join(ro, "sub"), "../../scenarios/ci.yaml"}, exitUsage},
		{"scheduler scenario passes", []string{"--quiet", "--out", filepath.Join(dir, "sd"), "../../scenarios/scheduler-day.yaml"}, exitPass},
		{"check missing run", []string{"check", filepath.Join(dir, "none")}, exitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := run(tt.args); got != tt.want {
				t.Errorf("simrun %v: exit %d, want %d", tt.args, got, tt.want)
			}
		})
	}
}

func TestInterleave_FlagsAfterScenario(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	seed := fs.String("seed", "", "")
	keep := fs.Bool("keep", false, "")
	if err := fs.Parse(interleave(fs, []string{"--keep", "x.yaml", "--seed", "3"})); err != nil {
		t.Fatal(err)
	}
	if !*keep || *seed != "3" || fs.NArg() != 1 || fs.Arg(0) != "x.yaml" {
		t.Fatalf("keep=%v seed=%q args=%v", *keep, *seed, fs.Args())
	}
}
