package s3out

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// line is a history-like record of 32 bytes.
var line = []byte(`{"t":"upload","id":"u-00000000"}` + "\n")

// appendTo appends data to the file at path, as the history writer does.
func appendTo(t *testing.T, path string, data []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
}

func getObject(t *testing.T, st *Store, bucket, key string) ([]byte, error) {
	t.Helper()
	out, err := st.s3.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return nil, err
	}
	defer out.Body.Close()
	return io.ReadAll(out.Body)
}

// TestStream_Sync_Parts: whole parts go up while the file grows, the
// object appears only when Finish completes it, and it ends at the file's
// last newline (the record the writer was cut off in is left out).
func TestStream_Sync_Parts(t *testing.T) {
	ctx := context.Background()
	st, parts := fakeStore(t)
	path := filepath.Join(t.TempDir(), "history.jsonl")
	at := Location{"bkt", "runs/r1"}
	s, err := st.NewStream(path, at, "history.jsonl", MinPartSize)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Sync(ctx); err != nil || s.Sent() != 0 {
		t.Fatalf("Sync before the file exists: sent %d, %v; want 0, nil", s.Sent(), err)
	}
	first := bytes.Repeat(line, (MinPartSize+MinPartSize/2)/len(line))
	appendTo(t, path, first)
	if err := s.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if s.Sent() != MinPartSize || parts.Load() != 1 {
		t.Fatalf("after 1.5 parts' worth: sent %d in %d parts, want one part of %d", s.Sent(), parts.Load(), MinPartSize)
	}
	if _, err := getObject(t, st, "bkt", "runs/r1/history.jsonl"); err == nil {
		t.Fatal("the object is visible before Finish")
	}
	more := bytes.Repeat(line, MinPartSize/len(line))
	appendTo(t, path, more)
	appendTo(t, path, []byte(`{"t":"upl`)) // the writer was killed mid-record
	streamed, err := s.Finish(ctx)
	if err != nil || !streamed {
		t.Fatalf("Finish = %v, %v; want true, nil", streamed, err)
	}
	if parts.Load() != 3 {
		t.Errorf("%d parts, want 3 (two whole, one last)", parts.Load())
	}
	got, err := getObject(t, st, "bkt", "runs/r1/history.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	want := append(append([]byte{}, first...), more...)
	if !bytes.Equal(got, want) {
		t.Errorf("object holds %d bytes, want the %d of the file's whole lines", len(got), len(want))
	}
}

// TestStream_Finish_Small: less than a part in all is one PUT; a file
// never created is not streamed and writes nothing.
func TestStream_Finish_Small(t *testing.T) {
	ctx := context.Background()
	st, parts := fakeStore(t)
	dir := t.TempDir()
	at := Location{"bkt", "runs/r2"}
	s, err := st.NewStream(filepath.Join(dir, "history.jsonl"), at, "history.jsonl", MinPartSize)
	if err != nil {
		t.Fatal(err)
	}
	appendTo(t, filepath.Join(dir, "history.jsonl"), bytes.Repeat(line, 3))
	if streamed, err := s.Finish(ctx); err != nil || !streamed {
		t.Fatalf("Finish = %v, %v; want true, nil", streamed, err)
	}
	if got, err := getObject(t, st, "bkt", "runs/r2/history.jsonl"); err != nil || !bytes.Equal(got, bytes.Repeat(line, 3)) {
		t.Errorf("object = %q, %v; want the three lines", got, err)
	}
	if parts.Load() != 0 {
		t.Errorf("%d parts for 96 bytes, want a single PUT", parts.Load())
	}

	none, err := st.NewStream(filepath.Join(dir, "never.jsonl"), at, "never.jsonl", MinPartSize)
	if err != nil {
		t.Fatal(err)
	}
	if streamed, err := none.Finish(ctx); err != nil || streamed {
		t.Errorf("Finish of a file never written = %v, %v; want false, nil", streamed, err)
	}
	if _, err := getObject(t, st, "bkt", "runs/r2/never.jsonl"); err == nil {
		t.Error("an object was written for a file that never existed")
	}
	if _, err := st.NewStream(filepath.Join(dir, "h"), at, "h", MinPartSize-1); err == nil {
		t.Error("a part size below S3's minimum was accepted")
	}
}

// TestStream_Run_Failure: a store that fails mid-run stops the stream with
// an error naming the object, leaves the local file as it was, and Abort
// drops the parts already sent.
func TestStream_Run_Failure(t *testing.T) {
	ctx := context.Background()
	st, _ := fakeStore(t)
	path := filepath.Join(t.TempDir(), "history.jsonl")
	data := bytes.Repeat(line, (2*MinPartSize+100)/len(line))
	appendTo(t, path, data)
	s, err := st.NewStream(path, Location{"bkt", "r3"}, "history.jsonl", MinPartSize)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.sendPart(ctx, mustOpen(t, path), MinPartSize); err != nil {
		t.Fatal(err)
	}
	s.to.Bucket = "gone" // the bucket vanished during the run
	tick := make(chan time.Time, 1)
	tick <- time.Time{}
	err = s.Run(ctx, tick)
	if err == nil {
		t.Fatal("Run against a missing bucket returned no error")
	}
	if want := "s3://gone/r3/history.jsonl"; !bytes.Contains([]byte(err.Error()), []byte(want)) {
		t.Errorf("error %q does not name %s", err, want)
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, data) {
		t.Errorf("the local file changed: %d bytes, want %d", len(got), len(data))
	}
	s.to.Bucket = "bkt"
	if err := s.Abort(ctx); err != nil {
		t.Fatal(err)
	}
	ups, err := st.s3.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String("bkt")})
	if err != nil {
		t.Fatal(err)
	}
	if len(ups.Uploads) != 0 {
		t.Errorf("%d multipart uploads left after Abort, want 0", len(ups.Uploads))
	}
}

// TestStream_Run_Stop: the end of Run's context stops it without error.
func TestStream_Run_Stop(t *testing.T) {
	st, _ := fakeStore(t)
	s, err := st.NewStream(filepath.Join(t.TempDir(), "h"), Location{"bkt", "r4"}, "h", MinPartSize)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Run(ctx, nil); err != nil {
		t.Errorf("Run after its context ended: %v, want nil", err)
	}
}

func mustOpen(t *testing.T, path string) *os.File {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}
