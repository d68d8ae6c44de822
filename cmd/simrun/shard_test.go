package main

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stormsim/stormsim/internal/s3out"
	"github.com/stormsim/stormsim/report"
	"github.com/stormsim/stormsim/sim/traffic"
)

func TestParseShard(t *testing.T) {
	tests := []struct {
		name string
		v    string
		env  map[string]string
		want traffic.Shard
		err  string // a substring of the error; "" for none
	}{
		{name: "none", v: ""},
		{name: "explicit", v: "1/4", want: traffic.Shard{I: 1, N: 4}},
		{name: "explicit out of range", v: "4/4", err: "0 <= I < N"},
		{name: "explicit leading zero", v: "01/4", err: "want I/N"},
		{name: "auto", v: "auto", env: map[string]string{indexEnv: "2", shardsEnv: "3"}, want: traffic.Shard{I: 2, N: 3}},
		{name: "auto without index", v: "auto", env: map[string]string{shardsEnv: "3"}, err: "JOB_COMPLETION_INDEX is not set"},
		{name: "auto without count", v: "auto", env: map[string]string{indexEnv: "0"}, err: "STORMSIM_SHARDS is not set"},
		{name: "auto index not a number", v: "auto", env: map[string]string{indexEnv: "x", shardsEnv: "3"}, err: `JOB_COMPLETION_INDEX="x"`},
		{name: "auto count zero", v: "auto", env: map[string]string{indexEnv: "0", shardsEnv: "0"}, err: `STORMSIM_SHARDS="0"`},
		{name: "auto index beyond count", v: "auto", env: map[string]string{indexEnv: "3", shardsEnv: "3"}, err: "JOB_COMPLETION_INDEX=3 is not below STORMSIM_SHARDS=3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseShard(tt.v, func(k string) string { return tt.env[k] })
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("parseShard(%q) = %+v, %v; want an error with %q", tt.v, got, err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("parseShard(%q) = %+v, %v; want %+v", tt.v, got, err, tt.want)
			}
		})
	}
}

// TestRunCmd_ShardAuto_Usage: a pod without the Job's environment, or a
// bad --start-at, is a usage error before any load, and writes nothing.
func TestRunCmd_ShardAuto_Usage(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		args []string
	}{
		{name: "no index", env: map[string]string{shardsEnv: "2"}, args: []string{"--shard", "auto"}},
		{name: "index beyond count", env: map[string]string{indexEnv: "2", shardsEnv: "2"}, args: []string{"--shard", "auto"}},
		{name: "start-at not RFC 3339", args: []string{"--start-at", "13:00"}},
		{name: "start-at with repeat", args: []string{"--start-at", "2026-01-01T00:00:00Z", "--repeat", "2"}},
		{name: "s3 out with a bad URL", args: []string{"--out", "s3:///nobucket"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(indexEnv, "")
			t.Setenv(shardsEnv, "")
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			out := filepath.Join(t.TempDir(), "run")
			args := append([]string{"--quiet"}, tt.args...)
			if !strings.HasPrefix(strings.Join(tt.args, " "), "--out") {
				args = append(args, "--out", out)
			}
			if code := run(append(args, "ci")); code != exitUsage {
				t.Errorf("exit %d, want %d", code, exitUsage)
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Errorf("the output folder was made for a run that could not start: %v", err)
			}
		})
	}
}

// TestWaitStart: the barrier returns at the instant, not before; an instant
// past returns at once; a cancelled wait is an error.
func TestWaitStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		at := start.Add(90 * time.Second)
		if err := waitStart(context.Background(), at, io.Discard); err != nil {
			t.Fatal(err)
		}
		if got := time.Since(start); got != 90*time.Second {
			t.Errorf("returned after %v, want 1m30s", got)
		}
		before := time.Now()
		if err := waitStart(context.Background(), at.Add(-time.Hour), io.Discard); err != nil || time.Since(before) != 0 {
			t.Errorf("a past instant: %v after %v, want at once", err, time.Since(before))
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if err := waitStart(ctx, time.Now().Add(time.Hour), io.Discard); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("cancelled wait: %v, want the context's error", err)
		}
	})
}

func TestCompleteShards(t *testing.T) {
	shard := func(t *testing.T, rerun string) string {
		d := t.TempDir()
		f, err := os.Create(filepath.Join(d, "results.json"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := report.WriteJSON(f, &report.Results{Scenario: "ci", Rerun: rerun}); err != nil {
			t.Fatal(err)
		}
		return d
	}
	at := s3out.Location{Bucket: "b", Prefix: "runs/x"}
	tests := []struct {
		name   string
		folder []string // shard folder names
		rerun  []string
		err    string
	}{
		{name: "whole", folder: []string{"shard-0", "shard-1"}, rerun: []string{"simrun --shard 0/2 ci", "simrun --shard 1/2 ci"}},
		{name: "one missing", folder: []string{"shard-0", "shard-2"}, rerun: []string{"simrun --shard 0/3 ci", "simrun --shard 2/3 ci"}, err: "shard(s) 1 of 3 missing"},
		{name: "folder and shard disagree", folder: []string{"shard-0", "shard-1"}, rerun: []string{"simrun --shard 0/2 ci", "simrun --shard 0/2 ci"}, err: "is shard 0/2, not shard 1"},
		{name: "counts disagree", folder: []string{"shard-0", "shard-1"}, rerun: []string{"simrun --shard 0/2 ci", "simrun --shard 1/3 ci"}, err: "other shards"},
		{name: "not sharded", folder: []string{"shard-0"}, rerun: []string{"simrun ci"}, err: "names no --shard"},
		{name: "one run's own folder", folder: []string{""}, rerun: []string{"simrun ci"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var locs []s3out.Location
			var dirs []string
			for i, f := range tt.folder {
				l := at
				if f != "" {
					l = at.Join(f)
				}
				locs = append(locs, l)
				dirs = append(dirs, shard(t, tt.rerun[i]))
			}
			err := completeShards(at.String(), locs, dirs)
			if tt.err == "" && err != nil || tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)) {
				t.Errorf("completeShards: %v, want %q", err, tt.err)
			}
		})
	}
}
