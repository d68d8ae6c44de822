package checker

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stormsim/stormsim/sim/history"
)

var update = flag.Bool("update", false, "rewrite testdata/clean.jsonl and the golden reports")

// writeSet writes s as history.jsonl, kind by kind.
func writeSet(t testing.TB, path string, s *history.Set) {
	t.Helper()
	var buf bytes.Buffer
	w := history.NewWriter(&buf)
	each := func(n int, rec func(i int) any) {
		for i := range n {
			if err := w.Write(rec(i)); err != nil {
				t.Fatal(err)
			}
		}
	}
	each(len(s.Uploads), func(i int) any { return s.Uploads[i] })
	each(len(s.Commits), func(i int) any { return s.Commits[i] })
	each(len(s.Conflicts), func(i int) any { return s.Conflicts[i] })
	each(len(s.Pushes), func(i int) any { return s.Pushes[i] })
	each(len(s.Polls), func(i int) any { return s.Polls[i] })
	each(len(s.Copies), func(i int) any { return s.Copies[i] })
	each(len(s.Finals), func(i int) any { return s.Finals[i] })
	each(len(s.Scheds), func(i int) any { return s.Scheds[i] })
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// render prints a report for golden files.
func render(r Report) string {
	var b strings.Builder
	fmt.Fprintf(&b, "violations %d inconclusive %v\n", r.Violations, r.Inconclusive)
	for _, c := range r.Checks {
		fmt.Fprintf(&b, "%s ok=%v violations=%d inconclusive=%v examples=%v\n\t%s\n",
			c.Name, c.OK, c.Violations, c.Inconclusive, c.Examples, c.Detail)
	}
	return b.String()
}

// TestCheckFile_Replay re-checks recorded histories against golden reports:
// a generated clean run (regenerate with -update) and a hand-written broken
// one with a truncated last line.
func TestCheckFile_Replay(t *testing.T) {
	clean := filepath.Join("testdata", "clean.jsonl")
	if *update {
		s := generate(genConfig{seed: 42, uploads: 40, users: 3, filesPerUser: 2, hotFiles: 1, hotShare: 0.5,
			span: 200 * time.Millisecond, stale: 0.2, scheds: 3})
		writeSet(t, clean, s)
	}
	tests := []struct {
		name string
		ok   bool
	}{{"clean", true}, {"broken", false}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := CheckFile(filepath.Join("testdata", tt.name+".jsonl"), Options{Fencing: true})
			if err != nil {
				t.Fatal(err)
			}
			if r.OK() != tt.ok {
				t.Errorf("OK() = %v\n%s", r.OK(), render(r))
			}
			golden := filepath.Join("testdata", tt.name+".golden")
			got := render(r)
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("report differs from %s (rerun with -update):\n%s", golden, got)
			}
		})
	}
}

func TestCheckFile_Errors(t *testing.T) {
	if _, err := CheckFile(filepath.Join("testdata", "missing.jsonl"), Options{}); err == nil {
		t.Error("missing file: no error")
	}
	bad := filepath.Join(t.TempDir(), "bad.jsonl")
	if err := os.WriteFile(bad, []byte("{\"t\":\"upload\"}\nnot json\n{\"t\":\"final\"}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := CheckFile(bad, Options{}); err == nil || !strings.Contains(err.Error(), "2") {
		t.Errorf("bad line: %v", err)
	}
}
