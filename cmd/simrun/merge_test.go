package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stormsim/stormsim/report"
	"github.com/stormsim/stormsim/sim/history"
)

// writeShard writes a shard folder: results.json with the given gates and
// rerun, and a history of n uploads (ids prefixed by the shard),
// plus tail appended as is (a truncated last line).
func writeShard(t *testing.T, dir string, shard, n int, gates []report.Gate, tail string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	r := &report.Results{Scenario: "ci", Seed: 42, Strategy: "redis-lock", Started: t0, DurationSeconds: 1,
		Rerun: "simrun --seed 42 --shard " + string(rune('0'+shard)) + "/2 scenarios/ci.yaml",
		Gates: gates, Invariants: []report.Invariant{}, Throughput: report.Throughput{PlannedRate: float64(n), AchievedRate: float64(n)}}
	f, err := os.Create(filepath.Join(dir, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := report.WriteJSON(f, r); err != nil {
		t.Fatal(err)
	}
	f.Close()
	h, err := os.Create(filepath.Join(dir, "history.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	w := history.NewWriter(h)
	for i := range n {
		at := t0.Add(time.Duration(i) * time.Millisecond)
		id := string(rune('a'+shard)) + string(rune('a'+i))
		if err := w.Write(history.Upload{T: history.KindUpload, ID: id, Outcome: history.OutcomeError, Polls: i % 3,
			Intended: at, Start: at, Staged: at, Done: at.Add(time.Millisecond)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	h.WriteString(tail)
	h.Close()
}

func TestReportCmd_Merge(t *testing.T) {
	pass := []report.Gate{{Expr: "uploads.total <= 10", OK: true}}
	tests := []struct {
		name   string
		gates  []report.Gate
		tail   string // appended to shard 0's history
		sameAs bool   // out is shard 0's folder
		code   int    // 0: any verdict (not a usage error)
	}{
		{name: "two shards", gates: pass},
		{name: "a truncated last line in shard 0", gates: pass, tail: `{"t":"upload","id":"zz","outc`},
		{name: "out is a shard folder", gates: pass, sameAs: true, code: exitUsage},
		{name: "a gate expression that does not parse", gates: []report.Gate{{Expr: "uploads.total about 3"}}, code: exitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			s0, s1, out := filepath.Join(dir, "s0"), filepath.Join(dir, "s1"), filepath.Join(dir, "all")
			writeShard(t, s0, 0, 4, tt.gates, tt.tail)
			writeShard(t, s1, 1, 3, tt.gates, "")
			if tt.sameAs {
				out = s0
			}
			code := run([]string{"report", "--merge", "--out", out, s0, s1})
			if tt.code != 0 {
				if code != tt.code {
					t.Errorf("exit %d, want %d", code, tt.code)
				}
				return
			}
			if code == exitUsage {
				t.Fatalf("exit %d (usage error)", code)
			}
			got, err := history.ReadFiles(filepath.Join(out, "history.jsonl"))
			if err != nil {
				t.Fatalf("merged history: %v", err)
			}
			want, err := history.ReadFiles(filepath.Join(s0, "history.jsonl"), filepath.Join(s1, "history.jsonl"))
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Uploads) != 7 || !reflect.DeepEqual(got, want) {
				t.Errorf("merged history has %d uploads, want the shards' 7, identical", len(got.Uploads))
			}
			if c, want := run([]string{"check", out}), run([]string{"check", s0, s1}); c != want {
				t.Errorf("simrun check on the merged folder: exit %d, on the shards %d", c, want)
			}
			r, err := report.ReadResults(filepath.Join(out, "results.json"))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(r.Rerun, "--shard 0/2") || !strings.Contains(r.Rerun, "--shard 1/2") {
				t.Errorf("rerun %q does not name both shards", r.Rerun)
			}
			if len(r.Gates) != 1 || r.Gates[0].Expr != "uploads.total <= 10" || r.Gates[0].Value != 7 || !r.Gates[0].OK {
				t.Errorf("gates %+v, want the scenario's gate over the 7 merged uploads", r.Gates)
			}
		})
	}
}
