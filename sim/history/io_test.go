package history

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"time"
)

func TestRead_RoundTripAndTruncatedTail(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	at := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	_ = w.Write(Upload{T: KindUpload, ID: "a", Outcome: OutcomeCommitted, Version: 1, Done: at})
	_ = w.Write(Commit{T: KindCommit, ID: "a", Version: 1, At: at})
	_ = w.Write(map[string]any{"t": "future-kind"})
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	data := buf.String() + `{"t":"upload","id":"cut-off` // an interrupted writer
	s, err := Read(strings.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Uploads) != 1 || len(s.Commits) != 1 || s.Unknown != 1 || !s.Uploads[0].Done.Equal(at) {
		t.Fatalf("decoded %+v", s)
	}
	if w.Lines() != 3 {
		t.Errorf("lines = %d", w.Lines())
	}
}

func TestRead_BadLineNamesIt(t *testing.T) {
	_, err := Read(strings.NewReader("{\"t\":\"upload\"}\nnot json\n{\"t\":\"commit\"}\n"))
	if err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("err = %v, want one naming line 2", err)
	}
}

// BenchmarkWriter_Upload is history writing on the device path.
func BenchmarkWriter_Upload(b *testing.B) {
	w := NewWriter(io.Discard)
	now := time.Now()
	u := Upload{T: KindUpload, ID: "0123456789abcdef-00000001", User: "u00001", Device: "dev01", Path: "docs/file-0001.txt",
		Base: 3, Size: 4096, SHA256: strings.Repeat("a", 64), Intended: now, Start: now, Staged: now, Done: now,
		Outcome: OutcomeCommitted, Version: 4, Polls: 1}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			_ = w.Write(&u)
		}
	})
}
