package objstore

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"unsafe"

	"github.com/johannesboyne/gofakes3"
)

func newTestBackend(t testing.TB, lc Lifecycle) *Backend {
	t.Helper()
	b := New(Options{Lifecycle: lc})
	if err := b.CreateBucket("b"); err != nil {
		t.Fatal(err)
	}
	return b
}

func put(t testing.TB, b *Backend, key, body string) {
	t.Helper()
	if _, err := b.PutObject("b", key, map[string]string{"X-Amz-Meta-K": key}, strings.NewReader(body), int64(len(body)), nil); err != nil {
		t.Fatalf("put %s: %v", key, err)
	}
}

func read(t testing.TB, b *Backend, key string) string {
	t.Helper()
	o, err := b.GetObject("b", key, nil)
	if err != nil {
		t.Fatalf("get %s: %v", key, err)
	}
	defer o.Contents.Close()
	data, err := io.ReadAll(o.Contents)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestBackend_CopyObject_SharesBytes(t *testing.T) {
	b := newTestBackend(t, Lifecycle{})
	put(t, b, "staging/u/1", "hello world")
	for _, dst := range []string{"versions/u/p/1", "files/u/p"} {
		if _, err := b.CopyObject("b", "staging/u/1", "b", dst, map[string]string{"X-Amz-Meta-Version": "1"}); err != nil {
			t.Fatal(err)
		}
	}
	want := Stats{Objects: 3, Blobs: 1, LogicalBytes: 33, StoredBytes: 11}
	if got := b.Stats(); got != want {
		t.Fatalf("stats after two copies = %+v, want %+v", got, want)
	}
	src, dst := b.buckets["b"].objects["staging/u/1"], b.buckets["b"].objects["files/u/p"]
	if unsafe.SliceData(src.blob.data) != unsafe.SliceData(dst.blob.data) {
		t.Fatal("copy holds its own bytes, want the source's")
	}
	if got := read(t, b, "files/u/p"); got != "hello world" {
		t.Fatalf("copy reads %q", got)
	}
	o, err := b.HeadObject("b", "files/u/p")
	if err != nil {
		t.Fatal(err)
	}
	if o.Metadata["X-Amz-Meta-Version"] != "1" || o.Metadata["X-Amz-Meta-K"] != "" {
		t.Fatalf("copy metadata = %v, want only the copy's own", o.Metadata)
	}
}

func TestBackend_DeleteObject_ReleasesBytes(t *testing.T) {
	b := newTestBackend(t, Lifecycle{})
	put(t, b, "a", "12345")
	if _, err := b.CopyObject("b", "a", "b", "c", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := b.DeleteObject("b", "a"); err != nil {
		t.Fatal(err)
	}
	if got, want := b.Stats(), (Stats{Objects: 1, Blobs: 1, LogicalBytes: 5, StoredBytes: 5}); got != want {
		t.Fatalf("after deleting the source: %+v, want %+v", got, want)
	}
	if got := read(t, b, "c"); got != "12345" {
		t.Fatalf("copy reads %q after the source was deleted", got)
	}
	put(t, b, "c", "xy") // an overwrite releases the old bytes too
	if got, want := b.Stats(), (Stats{Objects: 1, Blobs: 1, LogicalBytes: 2, StoredBytes: 2}); got != want {
		t.Fatalf("after overwriting the copy: %+v, want %+v", got, want)
	}
	if _, err := b.DeleteMulti("b", "c", "missing"); err != nil {
		t.Fatal(err)
	}
	if got := b.Stats(); got != (Stats{}) {
		t.Fatalf("after deleting everything: %+v, want zero", got)
	}
	if _, err := b.GetObject("b", "c", nil); !gofakes3.HasErrorCode(err, gofakes3.ErrNoSuchKey) {
		t.Fatalf("get deleted = %v, want NoSuchKey", err)
	}
}

func TestBackend_PutObject_Conditions(t *testing.T) {
	b := newTestBackend(t, Lifecycle{})
	star := "*"
	cond := &gofakes3.PutConditions{IfNoneMatch: &star}
	if _, err := b.PutObject("b", "k", nil, strings.NewReader("1"), 1, cond); err != nil {
		t.Fatalf("first If-None-Match put: %v", err)
	}
	_, err := b.PutObject("b", "k", nil, strings.NewReader("2"), 1, cond)
	if err == nil {
		t.Fatal("second If-None-Match put succeeded, want a failed precondition")
	}
	if got := read(t, b, "k"); got != "1" {
		t.Fatalf("object after a refused put = %q, want 1", got)
	}
	if _, err := b.PutObject("b", "k", nil, strings.NewReader("12"), 5, nil); !errors.Is(err, gofakes3.ErrIncompleteBody) {
		t.Fatalf("short body = %v, want ErrIncompleteBody", err)
	}
}

func TestBackend_GetObject_Range(t *testing.T) {
	b := newTestBackend(t, Lifecycle{})
	put(t, b, "k", "0123456789")
	o, err := b.GetObject("b", "k", &gofakes3.ObjectRangeRequest{Start: 2, End: 4})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, o.Contents); err != nil {
		t.Fatal(err)
	}
	if buf.String() != "234" || o.Size != 10 {
		t.Fatalf("range read %q of size %d, want 234 of 10", buf.String(), o.Size)
	}
}

func TestBackend_DeleteBucket_NotEmpty(t *testing.T) {
	b := newTestBackend(t, Lifecycle{})
	put(t, b, "k", "1")
	if err := b.DeleteBucket("b"); !gofakes3.HasErrorCode(err, gofakes3.ErrBucketNotEmpty) {
		t.Fatalf("delete non-empty bucket = %v", err)
	}
	if err := b.ForceDeleteBucket("b"); err != nil {
		t.Fatal(err)
	}
	if got := b.Stats(); got != (Stats{}) {
		t.Fatalf("after force delete: %+v", got)
	}
	if _, err := b.HeadObject("b", "k"); !gofakes3.HasErrorCode(err, gofakes3.ErrNoSuchBucket) {
		t.Fatalf("head in deleted bucket = %v", err)
	}
}

// Concurrent puts, copies and deletes leave the counts exact.
func TestBackend_Concurrent_StatsExact(t *testing.T) {
	b := newTestBackend(t, Lifecycle{Prefix: "versions/", Keep: 1})
	done := make(chan struct{})
	for g := range 8 {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := range 200 {
				staged := fmt.Sprintf("staging/%d/%d", g, i)
				put(t, b, staged, "content")
				for _, dst := range []string{fmt.Sprintf("versions/%d/f/%d", g, i), fmt.Sprintf("files/%d/f", g)} {
					if _, err := b.CopyObject("b", staged, "b", dst, nil); err != nil {
						t.Error(err)
						return
					}
				}
				if _, err := b.DeleteObject("b", staged); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	for range 8 {
		<-done
	}
	// Per goroutine: its newest version and its final object, sharing one blob.
	if got, want := b.Stats(), (Stats{Objects: 16, Blobs: 8, LogicalBytes: 16 * 7, StoredBytes: 8 * 7, Pruned: 8 * 199}); got != want {
		t.Fatalf("stats %+v, want %+v", got, want)
	}
}

// readAll accepts exactly size bytes, as gofakes3.ReadAll does.
func TestReadAll_ExactSize(t *testing.T) {
	for _, tt := range []struct {
		body string
		size int64
		ok   bool
	}{
		{"abc", 3, true}, {"", 0, true}, {"ab", 3, false}, {"abcd", 3, false}, {"", 1, false}, {"a", 0, false},
	} {
		got, err := readAll(iotest.OneByteReader(strings.NewReader(tt.body)), tt.size)
		if tt.ok && (err != nil || string(got) != tt.body) {
			t.Errorf("readAll(%q, %d) = %q, %v", tt.body, tt.size, got, err)
		}
		if !tt.ok && err != gofakes3.ErrIncompleteBody {
			t.Errorf("readAll(%q, %d): err %v, want ErrIncompleteBody", tt.body, tt.size, err)
		}
	}
}
