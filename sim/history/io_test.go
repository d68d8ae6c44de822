package history

import (
	"bytes"
	"errors"
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
	_ = w.Write(Result{T: KindResult, ID: "a", User: "u1", State: OutcomeCommitted, Version: 1, Found: true, At: at, TTLSeconds: 60})
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
	if want := (Result{T: KindResult, ID: "a", User: "u1", State: OutcomeCommitted, Version: 1, Found: true, At: at,
		TTLSeconds: 60}); len(s.Results) != 1 || s.Results[0] != want {
		t.Errorf("results %+v, want %+v", s.Results, want)
	}
	if w.Lines() != 4 {
		t.Errorf("lines = %d", w.Lines())
	}
}

func TestRead_BadLineNamesIt(t *testing.T) {
	_, err := Read(strings.NewReader("{\"t\":\"upload\"}\nnot json\n{\"t\":\"commit\"}\n"))
	if err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("err = %v, want one naming line 2", err)
	}
}

// TestResult_FieldNames pins the result record's JSON, a contract for
// outside checkers.
func TestResult_FieldNames(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	_ = w.Write(Result{T: KindResult, ID: "a", User: "u1", At: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), TTLSeconds: 86400})
	_ = w.Flush()
	want := `{"t":"result","id":"a","user":"u1","state":"","version":0,"found":false,"at":"2026-01-02T03:04:05Z","ttl_seconds":86400}` + "\n"
	if buf.String() != want {
		t.Errorf("got  %s want %s", buf.String(), want)
	}
}

// TestScan_Streams: Scan hands over each line with its kind in file order,
// ignores a truncated last line, and names the line fn rejects.
func TestScan_Streams(t *testing.T) {
	data := "{\"t\":\"upload\",\"id\":\"a\"}\n\n{\"t\":\"commit\"}\n{\"t\":\"upload\",\"id\":\"b\"}\n{\"t\":\"upl"
	var kinds []string
	err := Scan(strings.NewReader(data), func(kind string, line []byte) error {
		kinds = append(kinds, kind)
		return nil
	})
	if err != nil || strings.Join(kinds, ",") != "upload,commit,upload" {
		t.Fatalf("kinds %v err %v", kinds, err)
	}
	stop := errors.New("stop")
	err = Scan(strings.NewReader(data), func(kind string, line []byte) error {
		if kind == KindCommit {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || !errors.Is(err, ErrBadLine) || !strings.Contains(err.Error(), "line 3") {
		t.Errorf("err = %v, want stop on line 3", err)
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
