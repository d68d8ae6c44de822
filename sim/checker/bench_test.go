package checker

import (
	"bytes"
	"strconv"
	"testing"
	"time"

	"github.com/stormsim/stormsim/sim/history"
)

const benchLines = 1_000_000

// benchHistory generates a correct history of exactly benchLines records
// (about 255k uploads on 90k files, a fifth of them on 20 hot files, padded with scheduled
// events) and returns it as JSONL.
func benchHistory(b *testing.B) ([]byte, *history.Set) {
	b.Helper()
	s := generate(genConfig{seed: 1, uploads: 255_000, users: 20_000, filesPerUser: 5, hotFiles: 20, hotShare: 0.2,
		span: 2 * time.Minute, stale: 0.05})
	n := len(s.Uploads) + len(s.Commits) + len(s.Conflicts) + len(s.Pushes) + len(s.Polls) + len(s.Copies) + len(s.Finals)
	if n > benchLines {
		b.Fatalf("generated %d lines, more than %d", n, benchLines)
	}
	for i := 0; n < benchLines; i, n = i+1, n+1 {
		due := genEpoch.Add(time.Duration(i) * time.Millisecond)
		fired := due.Add(time.Duration(i%60) * time.Second)
		s.Scheds = append(s.Scheds, history.Sched{T: history.KindSched, ID: "ev" + strconv.Itoa(i), Due: due, Fired: &fired, Runs: 1})
	}
	var buf bytes.Buffer
	w := history.NewWriter(&buf)
	for _, recs := range [][]any{anys(s.Uploads), anys(s.Commits), anys(s.Conflicts), anys(s.Pushes),
		anys(s.Polls), anys(s.Copies), anys(s.Finals), anys(s.Scheds)} {
		for _, r := range recs {
			if err := w.Write(r); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	if w.Lines() != benchLines {
		b.Fatalf("%d lines", w.Lines())
	}
	return buf.Bytes(), s
}

func anys[T any](v []T) []any {
	out := make([]any, len(v))
	for i := range v {
		out[i] = v[i]
	}
	return out
}

// BenchmarkCheck checks a 1,000,000-line history: "read+check" is what
// CheckFile does (decode the JSONL, then check), "check" only the checks.
func BenchmarkCheck(b *testing.B) {
	data, set := benchHistory(b)
	b.Logf("%d uploads, %d commits, %d conflicts, %d files, %d MiB of JSONL",
		len(set.Uploads), len(set.Commits), len(set.Conflicts), len(set.Finals), len(data)>>20)
	o := Options{Fencing: true}
	b.Run("read+check", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			s, err := history.Read(bytes.NewReader(data))
			if err != nil {
				b.Fatal(err)
			}
			if r := Check(s, o); !r.OK() {
				b.Fatalf("%+v", r)
			}
		}
	})
	b.Run("check", func(b *testing.B) {
		for b.Loop() {
			if r := Check(set, o); !r.OK() {
				b.Fatalf("%+v", r)
			}
		}
	})
}
