package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/stormsim/stormsim/internal/s3out"
	"github.com/stormsim/stormsim/internal/testsrv"
)

// TestS3Output_Stream_Versitygw: against versitygw, the streamed history
// goes up in S3-sized parts (5 MiB, the last smaller), an interrupted
// run's publish completes it at a whole line, and a whole run's folder
// with --out s3:// reads back with `simrun check s3://...`.
func TestS3Output_Stream_Versitygw(t *testing.T) {
	if testing.Short() {
		t.Skip("starts versitygw")
	}
	bin := testsrv.VersitygwPath(t)
	testsrv.AWSEnv(t)
	endpoint := testsrv.Versitygw(t, bin, 0, "")
	ctx := context.Background()
	c, err := s3out.NewClient(ctx, s3out.Options{Endpoint: endpoint})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("runs")}); err != nil {
		t.Fatal(err)
	}
	imds := false
	st := &storeOptions{endpoint: endpoint, imds: &imds}

	o, err := newS3Output(ctx, "s3://runs/streamed", st, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	whole := streamedRun(t, o)
	if ups, err := c.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String("runs")}); err != nil || len(ups.Uploads) != 1 {
		t.Fatalf("during the run: %d multipart uploads, %v; want the history's", len(ups.Uploads), err)
	}
	if got := o.publish(ctx, exitError{exitInterrupted}); exitCode(got) != exitInterrupted {
		t.Errorf("publish: exit %d, want %d", exitCode(got), exitInterrupted)
	}
	if got := readObject(t, c, "runs", "streamed/history.jsonl"); !bytes.Equal(got, whole) {
		t.Errorf("history.jsonl holds %d bytes, want the %d of its whole lines", len(got), len(whole))
	}
	ups, err := c.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String("runs")})
	if err != nil || len(ups.Uploads) != 0 {
		t.Errorf("%d multipart uploads left, %v; want none", len(ups.Uploads), err)
	}

	scen := filepath.Join(t.TempDir(), "tiny.yaml")
	if err := os.WriteFile(scen, []byte(s3Tiny), 0o644); err != nil {
		t.Fatal(err)
	}
	if code := run([]string{"--quiet", "--verdict-exit=false", "--out", "s3://runs/tiny", "--out-endpoint", endpoint, scen}); code != exitPass {
		t.Fatalf("run with --out s3:// to versitygw: exit %d", code)
	}
	if code := run([]string{"check", "--out-endpoint", endpoint, "s3://runs/tiny"}); code != exitPass {
		t.Errorf("simrun check s3://runs/tiny: exit %d, want %d", code, exitPass)
	}
}
