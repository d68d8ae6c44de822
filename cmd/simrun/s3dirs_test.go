package main

import (
	"context"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/stormsim/stormsim/internal/s3out"
	"github.com/stormsim/stormsim/internal/testsrv"
)

// fakeStoreOptions points storeOptions at an in-process gofakes3 holding
// the bucket "runs".
func fakeStoreOptions(t *testing.T) (*storeOptions, *s3.Client) {
	t.Helper()
	srv := httptest.NewServer(gofakes3.New(s3mem.New(), gofakes3.WithoutVersioning(), gofakes3.WithLogger(gofakes3.DiscardLog())).Server())
	t.Cleanup(srv.Close)
	testsrv.AWSEnv(t)
	imds := false
	st := &storeOptions{endpoint: srv.URL, imds: &imds}
	c, err := s3out.NewClient(context.Background(), s3out.Options{Endpoint: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String("runs")}); err != nil {
		t.Fatal(err)
	}
	return st, c
}

// TestS3Output_Publish: the run's folder goes up whatever the run's exit
// (a failed verdict stays failed); an upload that fails keeps the folder
// and turns a pass into inconclusive.
func TestS3Output_Publish(t *testing.T) {
	ctx := context.Background()
	st, c := fakeStoreOptions(t)
	o, err := prepareS3Out(ctx, "s3://runs/r1", st, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(o.dir, "results.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := o.publish(ctx, exitError{exitFail}); exitCode(got) != exitFail {
		t.Errorf("publish kept exit %d, want %d", exitCode(got), exitFail)
	}
	if _, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("runs"), Key: aws.String("r1/results.json")}); err != nil {
		t.Errorf("results.json not uploaded: %v", err)
	}
	if _, err := os.Stat(o.dir); !os.IsNotExist(err) {
		t.Errorf("the local folder stays after a good upload: %v", err)
	}

	o, err = prepareS3Out(ctx, "s3://runs/r2", st, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(o.dir, "history.jsonl"), []byte("{}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	o.to.Bucket = "gone" // the bucket vanished during the run
	if got := o.publish(ctx, nil); exitCode(got) != exitInconclusive {
		t.Errorf("a failed upload of a passing run: exit %d, want %d", exitCode(got), exitInconclusive)
	}
	if _, err := os.Stat(filepath.Join(o.dir, "history.jsonl")); err != nil {
		t.Errorf("the local folder is gone after a failed upload: %v", err)
	}
	os.RemoveAll(o.dir)

	if _, err := prepareS3Out(ctx, "s3://nosuchbucket/r3", st, io.Discard); exitCode(err) != exitUsage {
		t.Errorf("--out to a missing bucket: %v (exit %d), want a usage error before the run", err, exitCode(err))
	}
}

// TestCheckCmd_S3_Missing: an s3:// prefix holding no run is bad input.
func TestCheckCmd_S3_Missing(t *testing.T) {
	st, _ := fakeStoreOptions(t)
	if code := run([]string{"check", "--out-endpoint", st.endpoint, "s3://runs/nothing-here"}); code != exitUsage {
		t.Errorf("exit %d, want %d", code, exitUsage)
	}
}

const s3Tiny = `
name: s3-tiny
seed: 5
drain: 20s
phases:
  - {kind: burst, count: 20, at: 0s, duration: 200ms}
population: {users: 5, devices_per_user: 2, files_per_user: 2}
sizes: {kind: lognormal, median: 2KiB, sigma: 1, cap: 64KiB}
gates: ["uploads.total == 1"]
`

// TestRunCmd_S3Out_KeepsExitCode: a run whose folder goes to s3:// exits
// with its verdict's code (the gate fails: 1), unless --verdict-exit=false.
func TestRunCmd_S3Out_KeepsExitCode(t *testing.T) {
	st, c := fakeStoreOptions(t)
	scen := filepath.Join(t.TempDir(), "tiny.yaml")
	if err := os.WriteFile(scen, []byte(s3Tiny), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		flag string
		code int
	}{{"--verdict-exit=true", exitFail}, {"--verdict-exit=false", exitPass}} {
		prefix := "out-" + tt.flag[len("--verdict-exit="):]
		code := run([]string{"--quiet", tt.flag, "--out", "s3://runs/" + prefix, "--out-endpoint", st.endpoint, scen})
		if code != tt.code {
			t.Errorf("%s: exit %d, want %d", tt.flag, code, tt.code)
		}
		if _, err := c.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String("runs"), Key: aws.String(prefix + "/history.jsonl")}); err != nil {
			t.Errorf("%s: history.jsonl not uploaded: %v", tt.flag, err)
		}
	}
	// report --merge of an s3:// run keeps the verdict's code too.
	out := "s3://runs/merged"
	if code := run([]string{"report", "--merge", "--out", out, "--out-endpoint", st.endpoint, "s3://runs/out-true"}); code != exitFail {
		t.Errorf("report --merge: exit %d, want %d", code, exitFail)
	}
}
