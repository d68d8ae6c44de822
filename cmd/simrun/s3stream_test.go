package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/stormsim/stormsim/internal/s3out"
	"github.com/stormsim/stormsim/internal/testsrv"
)

// historyLine is a 32-byte history-like record.
var historyLine = []byte(`{"t":"upload","id":"u-00000000"}` + "\n")

// streamStore is a store over gofakes3 with bucket "runs"; while
// failParts is set, it answers upload-part requests 403.
func streamStore(t *testing.T, failParts *atomic.Bool) (*storeOptions, *s3.Client) {
	t.Helper()
	fake := gofakes3.New(s3mem.New(), gofakes3.WithoutVersioning(), gofakes3.WithLogger(gofakes3.DiscardLog())).Server()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Has("partNumber") && failParts.Load() {
			http.Error(w, "<Error><Code>AccessDenied</Code><Message>denied</Message></Error>", http.StatusForbidden)
			return
		}
		fake.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	testsrv.AWSEnv(t)
	imds := false
	c, err := s3out.NewClient(context.Background(), s3out.Options{Endpoint: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String("runs")}); err != nil {
		t.Fatal(err)
	}
	return &storeOptions{endpoint: srv.URL, imds: &imds}, c
}

func appendFile(t *testing.T, path string, data []byte) {
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

func readObject(t *testing.T, c *s3.Client, bucket, key string) []byte {
	t.Helper()
	out, err := c.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("get %s/%s: %v", bucket, key, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// streamedRun writes more than two parts of history into o's folder and
// ticks the stream twice: the second tick is taken only once the first
// Sync is over (the tick channel is unbuffered).
func streamedRun(t *testing.T, o *s3Output) (whole []byte) {
	t.Helper()
	tick := make(chan time.Time)
	o.startStream(tick, func() {})
	whole = bytes.Repeat(historyLine, (2*s3out.MinPartSize+s3out.MinPartSize/3)/len(historyLine))
	appendFile(t, filepath.Join(o.dir, "history.jsonl"), whole)
	appendFile(t, filepath.Join(o.dir, "history.jsonl"), []byte(`{"t":"comm`)) // cut off mid-record
	tick <- time.Time{}
	select {
	case tick <- time.Time{}:
	case err := <-o.streamDone:
		o.streamDone <- err // publish reads it
	}
	if err := os.WriteFile(filepath.Join(o.dir, "results.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	return whole
}

// TestS3Output_Stream_Interrupted: the history's whole parts are in the
// store while the run goes (as an unfinished multipart upload), and an
// interrupted run's publish completes it, ending at a whole line, with the
// run's exit code kept.
func TestS3Output_Stream_Interrupted(t *testing.T) {
	ctx := context.Background()
	var fail atomic.Bool
	st, c := streamStore(t, &fail)
	o, err := newS3Output(ctx, "s3://runs/int", st, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	whole := streamedRun(t, o)
	ups, err := c.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String("runs")})
	if err != nil || len(ups.Uploads) != 1 {
		t.Fatalf("during the run: %d multipart uploads, %v; want 1", len(ups.Uploads), err)
	}
	parts, err := c.ListParts(ctx, &s3.ListPartsInput{Bucket: aws.String("runs"), Key: aws.String("int/history.jsonl"), UploadId: ups.Uploads[0].UploadId})
	if err != nil || len(parts.Parts) != 2 {
		t.Fatalf("during the run: %d parts sent, %v; want the 2 whole ones", len(parts.Parts), err)
	}
	if got := o.publish(ctx, exitError{exitInterrupted}); exitCode(got) != exitInterrupted {
		t.Errorf("publish: exit %d, want %d", exitCode(got), exitInterrupted)
	}
	if got := readObject(t, c, "runs", "int/history.jsonl"); !bytes.Equal(got, whole) {
		t.Errorf("history.jsonl holds %d bytes, want the %d of its whole lines", len(got), len(whole))
	}
	if got := readObject(t, c, "runs", "int/results.json"); string(got) != "{}" {
		t.Errorf("results.json = %q", got)
	}
}

// TestS3Output_Stream_FailsOver: a store refusing parts mid-run stops the
// streaming; the history is kept locally and uploaded whole at the end,
// no multipart upload is left behind, and the verdict's exit stays.
func TestS3Output_Stream_FailsOver(t *testing.T) {
	ctx := context.Background()
	var fail atomic.Bool
	fail.Store(true)
	st, c := streamStore(t, &fail)
	o, err := newS3Output(ctx, "s3://runs/fo", st, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	whole := streamedRun(t, o)
	err = <-o.streamDone
	if err == nil || !strings.Contains(err.Error(), "s3://runs/fo/history.jsonl") {
		t.Fatalf("stream error %v, want one naming the object", err)
	}
	o.streamDone <- err
	local := filepath.Join(o.dir, "history.jsonl")
	if b, _ := os.ReadFile(local); !bytes.HasPrefix(b, whole) {
		t.Fatalf("the local history lost records: %d bytes", len(b))
	}
	fail.Store(false)
	if got := o.publish(ctx, nil); exitCode(got) != exitPass {
		t.Errorf("publish after a fail-over: exit %d, want %d", exitCode(got), exitPass)
	}
	if got := readObject(t, c, "runs", "fo/history.jsonl"); !bytes.HasPrefix(got, whole) {
		t.Errorf("history.jsonl holds %d bytes, want the local file's", len(got))
	}
	ups, err := c.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String("runs")})
	if err != nil || len(ups.Uploads) != 0 {
		t.Errorf("%d multipart uploads left, %v; want none", len(ups.Uploads), err)
	}
}

const s3Long = `
name: s3-long
seed: 9
drain: 20s
phases:
  - {kind: constant, rate: 40, duration: 120s}
population: {users: 20, devices_per_user: 2, files_per_user: 4}
sizes: {kind: lognormal, median: 2KiB, sigma: 1, cap: 64KiB}
`

// TestRunCmd_S3Out_SIGTERM: a run killed by SIGTERM (a pod being stopped)
// exits 130 with its history in the store, and `simrun check s3://...`
// reads it.
func TestRunCmd_S3Out_SIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a process")
	}
	var fail atomic.Bool
	st, c := streamStore(t, &fail)
	dir := t.TempDir()
	scen := filepath.Join(dir, "long.yaml")
	if err := os.WriteFile(scen, []byte(s3Long), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "--out", "s3://runs/term", "--out-endpoint", st.endpoint, scen)
	cmd.Env = append(os.Environ(), childEnv+"=1")
	var out testsrv.SyncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(out.String(), " done ") { // the first progress line: the load is on
		if time.Now().After(deadline) {
			t.Fatalf("no progress within 60s:\n%s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != exitInterrupted {
		t.Fatalf("exit %d after SIGTERM, want %d:\n%s", code, exitInterrupted, out.String())
	}
	if !strings.Contains(out.String(), "history.jsonl streamed to s3://runs/term/history.jsonl") {
		t.Errorf("the run does not say its history was streamed:\n%s", out.String())
	}
	if h := readObject(t, c, "runs", "term/history.jsonl"); len(h) == 0 || h[len(h)-1] != '\n' {
		t.Errorf("history.jsonl: %d bytes, want whole lines", len(h))
	}
	if code := run([]string{"check", "--out-endpoint", st.endpoint, "s3://runs/term"}); code == exitUsage {
		t.Errorf("simrun check s3://runs/term: exit %d: the interrupted run's folder does not read", code)
	}
}
