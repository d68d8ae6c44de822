package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"github.com/alicebob/miniredis/v2"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/stormsim/stormsim/coordinator"
	"github.com/stormsim/stormsim/internal/testsrv"
)

const bucket = "example-bucket" // the bucket of AWS's sample event

type fakes struct {
	t      *testing.T
	s3     *s3.Client
	env    map[string]string
	h      *handler
	invoke func(payload []byte) error
}

// newFakes starts gofakes3 and miniredis and builds the Lambda handler from
// environment variables pointing at them, as a deployment would.
func newFakes(t *testing.T) *fakes {
	t.Helper()
	fake := testsrv.NewFakeS3(t, nil, nil, bucket)
	mr := miniredis.RunT(t)
	for k, v := range map[string]string{"AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s", "AWS_REGION": "us-east-1",
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": filepath.Join(t.TempDir(), "none"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(t.TempDir(), "none")} {
		t.Setenv(k, v)
	}
	f := &fakes{t: t, env: map[string]string{"STORMSIM_BUCKET": bucket, "STORMSIM_REDIS_URL": "redis://" + mr.Addr(),
		"STORMSIM_S3_ENDPOINT": fake.URL, "STORMSIM_KEY_PREFIX": "lambda:"}}
	f.s3 = fake.Client
	h, err := newHandler(context.Background(), func(k string) string { return f.env[k] })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.rdb.Close() })
	f.h = h
	// The same JSON decoding the Lambda runtime applies to a payload.
	lh := lambda.NewHandler(h.handle)
	f.invoke = func(payload []byte) error {
		_, err := lh.Invoke(context.Background(), payload)
		return err
	}
	return f
}

func digest(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// stage puts an upload in the staging area; multipart as a device would
// for a large file.
func (f *fakes) stage(user, id, path string, multipart bool) {
	f.t.Helper()
	body := []byte("content of " + id)
	meta := coordinator.Metadata(coordinator.Upload{ID: id, User: user, Path: path, Device: "phone", SHA256: digest(body)})
	key := coordinator.StagingKey(user, id)
	ctx := context.Background()
	if !multipart {
		if _, err := f.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: &key, Body: bytes.NewReader(body), Metadata: meta}); err != nil {
			f.t.Fatal(err)
		}
		return
	}
	mp, err := f.s3.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(bucket), Key: &key, Metadata: meta})
	if err != nil {
		f.t.Fatal(err)
	}
	part, err := f.s3.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String(bucket), Key: &key, UploadId: mp.UploadId,
		PartNumber: aws.Int32(1), Body: bytes.NewReader(body)})
	if err != nil {
		f.t.Fatal(err)
	}
	if _, err := f.s3.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String(bucket), Key: &key, UploadId: mp.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{{ETag: part.ETag, PartNumber: aws.Int32(1)}}}}); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fakes) state(user, id string) string {
	f.t.Helper()
	r, ok, err := f.h.coord.Result(context.Background(), user, id)
	if err != nil {
		f.t.Fatal(err)
	}
	if !ok {
		return "none"
	}
	return r.State
}

func (f *fakes) exists(key string) bool {
	_, err := f.s3.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: &key})
	return err == nil
}

// TestHandle_AWSSampleEvents feeds S3 event documents shaped like AWS's
// published sample (the Lambda console's "s3-put") to the handler.
func TestHandle_AWSSampleEvents(t *testing.T) {
	type upload struct {
		user, id, path string
		multipart      bool
	}
	type want struct{ user, id, state string }
	tests := []struct {
		file    string
		staged  []upload
		want    []want
		staying []string // staged keys that must still be there
		final   []string // final keys that must exist
	}{
		{file: "s3-put.json", staged: []upload{{"alice", "put-1", "notes.txt", false}},
			want: []want{{"alice", "put-1", coordinator.StateCommitted}}, final: []string{"files/alice/notes.txt"}},
		{file: "s3-put-plain-key.json", staged: []upload{{"alice", "put-2", "a/b.md", false}},
			want: []want{{"alice", "put-2", coordinator.StateCommitted}}, final: []string{"files/alice/a/b.md"}},
		{file: "s3-put-two-records.json", staged: []upload{{"bob", "race-1", "x.txt", false}, {"bob", "race-2", "x.txt", false}},
			want: []want{{"bob", "race-1", coordinator.StateCommitted}, {"bob", "race-2", coordinator.StateConflict}}},
		{file: "s3-put-duplicate.json", staged: []upload{{"carol", "dup-1", "y.txt", false}},
			want: []want{{"carol", "dup-1", coordinator.StateCommitted}}},
		{file: "s3-multipart.json", staged: []upload{{"dan", "mp-1", "big.bin", true}},
			want: []want{{"dan", "mp-1", coordinator.StateCommitted}}, final: []string{"files/dan/big.bin"}},
		{file: "s3-delete.json", want: []want{{"erin", "gone-1", "none"}}},
		{file: "s3-other-bucket.json", staged: []upload{{"frank", "ob-1", "z.txt", false}},
			want: []want{{"frank", "ob-1", "none"}}, staying: []string{"staging/frank/ob-1"}},
		{file: "s3-final-key.json"},
		{file: "s3-test-event.json"},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			f := newFakes(t)
			for _, u := range tc.staged {
				f.stage(u.user, u.id, u.path, u.multipart)
			}
			payload, err := os.ReadFile(filepath.Join("testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if err := f.invoke(payload); err != nil {
				t.Fatalf("invoke: %v", err)
			}
			for _, w := range tc.want {
				if got := f.state(w.user, w.id); got != w.state {
					t.Errorf("%s/%s: state %s, want %s", w.user, w.id, got, w.state)
				}
				if w.state != "none" && f.exists(coordinator.StagingKey(w.user, w.id)) {
					t.Errorf("%s/%s: staged object left", w.user, w.id)
				}
			}
			for _, k := range tc.staying {
				if !f.exists(k) {
					t.Errorf("%s was removed", k)
				}
			}
			for _, k := range tc.final {
				if !f.exists(k) {
					t.Errorf("%s missing", k)
				}
			}
			// Lambda redelivers events: a second invocation changes nothing.
			if err := f.invoke(payload); err != nil {
				t.Fatalf("second invoke: %v", err)
			}
			for _, w := range tc.want {
				if got := f.state(w.user, w.id); got != w.state {
					t.Errorf("after redelivery %s/%s: state %s, want %s", w.user, w.id, got, w.state)
				}
			}
		})
	}
}

func TestNewHandler_Config(t *testing.T) {
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	tests := []struct {
		name string
		env  map[string]string
	}{
		{"no bucket", map[string]string{"STORMSIM_REDIS_URL": "redis://127.0.0.1:1"}},
		{"no redis", map[string]string{"STORMSIM_BUCKET": "b"}},
		{"bad redis", map[string]string{"STORMSIM_BUCKET": "b", "STORMSIM_REDIS_URL": "redis://h:1?bogus=1"}},
		{"bad ttl", map[string]string{"STORMSIM_BUCKET": "b", "STORMSIM_REDIS_URL": "redis://127.0.0.1:1", "STORMSIM_LOCK_TTL": "soon"}},
		{"result ttl under a second", map[string]string{"STORMSIM_BUCKET": "b", "STORMSIM_REDIS_URL": "redis://127.0.0.1:1", "STORMSIM_RESULT_TTL": "10ms"}},
		{"bad strategy", map[string]string{"STORMSIM_BUCKET": "b", "STORMSIM_REDIS_URL": "redis://127.0.0.1:1", "STORMSIM_STRATEGY": "vibes"}},
		{"bad object prefix", map[string]string{"STORMSIM_BUCKET": "b", "STORMSIM_REDIS_URL": "redis://127.0.0.1:1", "STORMSIM_OBJECT_PREFIX": "run"}},
		{"keep versions not a number", map[string]string{"STORMSIM_BUCKET": "b", "STORMSIM_REDIS_URL": "redis://127.0.0.1:1", "STORMSIM_KEEP_VERSIONS": "few"}},
		{"keep versions negative", map[string]string{"STORMSIM_BUCKET": "b", "STORMSIM_REDIS_URL": "redis://127.0.0.1:1", "STORMSIM_KEEP_VERSIONS": "-1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := newHandler(context.Background(), func(k string) string { return tc.env[k] }); err == nil {
				t.Errorf("no error")
			}
		})
	}
}

// TestNewHandler_KeepVersions: STORMSIM_KEEP_VERSIONS reaches the
// coordinator as scenarios' storage.keep_versions does in a run.
func TestNewHandler_KeepVersions(t *testing.T) {
	f := newFakes(t)
	for _, tc := range []struct {
		value string
		want  int
	}{{"", 0}, {"0", 0}, {"3", 3}} {
		env := maps(f.env)
		env["STORMSIM_KEEP_VERSIONS"] = tc.value
		h, err := newHandler(context.Background(), func(k string) string { return env[k] })
		if err != nil {
			t.Fatalf("STORMSIM_KEEP_VERSIONS=%q: %v", tc.value, err)
		}
		h.rdb.Close()
		if got := h.coord.Config().KeepVersions; got != tc.want {
			t.Errorf("STORMSIM_KEEP_VERSIONS=%q: KeepVersions %d, want %d", tc.value, got, tc.want)
		}
	}
}
