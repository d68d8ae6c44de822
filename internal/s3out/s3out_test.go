package s3out

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/stormsim/stormsim/internal/testsrv"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want Location
		err  bool
	}{
		{in: "s3://b/runs/42", want: Location{"b", "runs/42"}},
		{in: "s3://b/runs/42/", want: Location{"b", "runs/42"}},
		{in: "s3://b", want: Location{"b", ""}},
		{in: "s3:///runs", err: true},
		{in: "http://b/runs", err: true},
		{in: "s3://b/a//c", err: true},
		{in: "s3://user:pw@b/x", err: true},
		{in: "s3://b/x?versionId=1", err: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Parse(tt.in)
			if tt.err {
				if !errors.Is(err, ErrURL) {
					t.Fatalf("Parse(%q) = %+v, %v; want ErrURL", tt.in, got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Parse(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			}
			if back, _ := Parse(got.String()); back != got {
				t.Errorf("String() %q does not parse back to %+v", got.String(), got)
			}
		})
	}
}

func TestShardIndex(t *testing.T) {
	for name, want := range map[string]int{"shard-0": 0, "shard-12": 12, "shard-": -1, "shard-01": -1, "shard--1": -1, "merged": -1, "shard-x": -1} {
		i, ok := ShardIndex(name)
		if ok != (want >= 0) || ok && i != want {
			t.Errorf("ShardIndex(%q) = %d, %v; want %d", name, i, ok, want)
		}
	}
}

// fakeStore is a Store over an in-process gofakes3 with bucket "bkt"; parts
// counts the multipart parts it received.
func fakeStore(t *testing.T) (st *Store, parts *atomic.Int64) {
	t.Helper()
	parts = &atomic.Int64{}
	fake := gofakes3.New(s3mem.New(), gofakes3.WithoutVersioning(), gofakes3.WithLogger(gofakes3.DiscardLog())).Server()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Has("partNumber") {
			parts.Add(1)
		}
		fake.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	testsrv.AWSEnv(t)
	c, err := NewClient(context.Background(), Options{Endpoint: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String("bkt")}); err != nil {
		t.Fatal(err)
	}
	return New(c, Options{PartSize: 5 << 20}), parts
}

func write(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestStore_UploadFetch_RoundTrip: a history larger than two parts goes up
// in parts and comes back byte for byte; the shard folders are listed in
// the order of their index (shard-10 after shard-2), other folders are not.
func TestStore_UploadFetch_RoundTrip(t *testing.T) {
	ctx := context.Background()
	st, parts := fakeStore(t)
	at := Location{"bkt", "runs/r1"}
	if err := st.Probe(ctx, at); err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte(`{"t":"upload","id":"u"}`+"\n"), (11<<20)/24)
	for _, i := range []string{"0", "2", "10"} {
		dir := t.TempDir()
		write(t, filepath.Join(dir, "results.json"), []byte(`{"shard":`+i+`}`))
		write(t, filepath.Join(dir, "history.jsonl"), big)
		write(t, filepath.Join(dir, "charts", "latency.svg"), []byte("<svg/>"))
		n, err := st.Upload(ctx, dir, at.Join("shard-"+i))
		if err != nil || n != 3 {
			t.Fatalf("Upload shard %s: %d objects, %v; want 3", i, n, err)
		}
	}
	if n := parts.Load(); n != 3*3 {
		t.Errorf("%d parts uploaded, want 3 per 11 MiB history in 5 MiB parts", n)
	}
	merged := t.TempDir()
	write(t, filepath.Join(merged, "results.json"), []byte(`{}`))
	if _, err := st.Upload(ctx, merged, at.Join("merged")); err != nil {
		t.Fatal(err)
	}

	runs, err := st.Runs(ctx, at)
	if err != nil {
		t.Fatal(err)
	}
	want := []Location{at.Join("shard-0"), at.Join("shard-2"), at.Join("shard-10")}
	if !reflect.DeepEqual(runs, want) {
		t.Fatalf("Runs = %v, want %v", runs, want)
	}
	if one, err := st.Runs(ctx, at.Join("merged")); err != nil || !reflect.DeepEqual(one, []Location{at.Join("merged")}) {
		t.Errorf("Runs(merged) = %v, %v; want the folder itself", one, err)
	}

	dir := t.TempDir()
	if err := st.Fetch(ctx, runs[2], dir, "results.json", "history.jsonl"); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "history.jsonl")); !bytes.Equal(got, big) {
		t.Errorf("history.jsonl came back with %d bytes, want the %d uploaded", len(got), len(big))
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "results.json")); string(got) != `{"shard":10}` {
		t.Errorf("results.json = %q, want shard 10's", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "charts")); !os.IsNotExist(err) {
		t.Errorf("Fetch downloaded files it was not asked for: %v", err)
	}
}

func TestStore_Missing(t *testing.T) {
	ctx := context.Background()
	st, _ := fakeStore(t)
	dir := t.TempDir()
	write(t, filepath.Join(dir, "results.json"), []byte(`{}`))
	at := Location{"bkt", "runs/r2"}
	if _, err := st.Upload(ctx, dir, at); err != nil {
		t.Fatal(err)
	}
	if err := st.Fetch(ctx, at, t.TempDir(), "results.json", "history.jsonl"); !errors.Is(err, ErrMissing) {
		t.Errorf("Fetch without a history: %v, want ErrMissing", err)
	}
	// runs/r (a prefix of runs/r2's name) holds nothing.
	if _, err := st.Runs(ctx, Location{"bkt", "runs/r"}); !errors.Is(err, ErrMissing) {
		t.Errorf("Runs of an empty folder: %v, want ErrMissing", err)
	}
}
