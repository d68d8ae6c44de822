package history

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"
)

// stdLine is rec as encoding/json writes it in a history line.
func stdLine(t testing.TB, rec any) string {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(rec); err != nil {
		return "error: " + err.Error()
	}
	return b.String()
}

func fastLine(rec any) string {
	lb := newLineBuf().(*lineBuf)
	if err := lb.encode(rec); err != nil {
		return "error: " + err.Error()
	}
	return lb.b.String()
}

// fullUpload sets every field of Upload: a field added to Upload without
// the fast path writing it makes the lines differ.
func fullUpload() Upload {
	at := time.Date(2026, 12, 2, 10, 11, 12, 345678900, time.UTC)
	return Upload{T: KindUpload, ID: "0123456789abcdef-00000001", User: "u00001", Device: "dev01", Path: "docs/file-0001.txt",
		Base: 3, Size: 4096, SHA256: strings.Repeat("a", 64), Intended: at, Start: at.Add(time.Millisecond),
		Staged: at.Add(2 * time.Millisecond), Done: at.Add(time.Second), Outcome: OutcomeConflict, Version: 4,
		Copy: "docs/file-0001 (conflicted copy dev01 2026-12-02).txt", Polls: 2, Push: true, Phase: "burst-0",
		Error: "timeout", Reason: "sha256-mismatch", Parts: 3, Ready: at.Add(-time.Second)}
}

func TestAppendUpload_SameAsEncodingJSON(t *testing.T) {
	berlin := time.FixedZone("CET", 3600)
	odd := time.FixedZone("LMT", 3600+30) // an offset json refuses (not whole minutes)
	tests := []struct {
		name string
		edit func(u *Upload)
	}{
		{"every field", func(*Upload) {}},
		{"omitted fields", func(u *Upload) {
			u.Version, u.Copy, u.Phase, u.Error, u.Reason, u.Parts, u.Ready, u.Push = 0, "", "", "", "", 0, time.Time{}, false
		}},
		{"zero record", func(u *Upload) { *u = Upload{} }},
		{"negative numbers", func(u *Upload) { u.Base, u.Size, u.Version, u.Polls = -1, -2, -3, -4 }},
		{"html characters stay", func(u *Upload) { u.Path = "a<b>&c.txt" }},
		{"quote", func(u *Upload) { u.Path = `say "hi".txt` }},
		{"backslash", func(u *Upload) { u.Path = `dir\file` }},
		{"control character", func(u *Upload) { u.Error = "line\nbreak\t\x01" }},
		{"unicode", func(u *Upload) { u.Path = "Präsentation – 日本.txt" }},
		{"line separator", func(u *Upload) { u.Path = "a\u2028b" }},
		{"invalid utf-8", func(u *Upload) { u.Device = "dev\xff" }},
		{"other zone", func(u *Upload) { u.Start = u.Start.In(berlin) }},
		{"zone json refuses", func(u *Upload) { u.Staged = u.Staged.In(odd) }},
		{"whole seconds", func(u *Upload) { u.Done = u.Done.Truncate(time.Second) }},
		{"year 10000", func(u *Upload) { u.Done = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }},
		{"monotonic clock reading", func(u *Upload) { u.Intended = time.Now() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := fullUpload()
			tt.edit(&u)
			for _, rec := range []any{&u, u} {
				if got, want := fastLine(rec), stdLine(t, rec); got != want {
					t.Errorf("%T:\n got %s\nwant %s", rec, got, want)
				}
			}
		})
	}
}

func FuzzAppendUpload(f *testing.F) {
	f.Add("docs/a.txt", "dev01", "", int64(1764669072), int64(5), int64(3600))
	f.Add("a\"b\\c\x00\u2028", "d\xff", "boom\n", int64(-62135596800), int64(999999999), int64(-3599))
	f.Fuzz(func(t *testing.T, path, device, errText string, sec, nsec, offset int64) {
		u := fullUpload()
		u.Path, u.Device, u.Error = path, device, errText
		u.Start = time.Unix(sec%(400*365*86400), nsec).In(time.FixedZone("Z", int(offset%(30*3600))))
		if got, want := fastLine(&u), stdLine(t, &u); got != want {
			t.Errorf("\n got %s\nwant %s", got, want)
		}
	})
}

// BenchmarkWriter_Commit is a record without the fast path.
func BenchmarkWriter_Commit(b *testing.B) {
	w := NewWriter(io.Discard)
	now := time.Now()
	c := Commit{T: KindCommit, ID: "0123456789abcdef-00000001", User: "u00001", Path: "docs/file-0001.txt", Base: 3, Version: 4, At: now}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			_ = w.Write(c)
		}
	})
}
