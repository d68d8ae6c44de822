package env_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"

	"github.com/stormsim/stormsim/internal/objstore"
	"github.com/stormsim/stormsim/internal/testsrv"
	"github.com/stormsim/stormsim/scenarios"
	"github.com/stormsim/stormsim/sim"
	"github.com/stormsim/stormsim/sim/env"
)

// countScenario is small, with a few uploads above the multipart threshold.
const countScenario = `
name: s3count
seed: 11
drain: 20s
phases:
  - {kind: burst, count: 60, at: 0s, duration: 300ms}
population: {users: 10, devices_per_user: 2, files_per_user: 3, hot_files: 1, hot_share: 0.5}
sizes:
  kind: mix
  mix:
    - {weight: 9, kind: fixed, value: 1KiB}
    - {weight: 1, kind: fixed, value: 6MiB}
  multipart_threshold: 5MiB
  part_size: 5MiB
coordinator: {strategy: redis-lock, concurrency: 8}
delivery: {duplicate: 0.1}
`

// fakeRemoteS3 serves gofakes3 over httptest as a server the harness does
// not run itself: it counts what it serves (the counter in front of
// the embedded fakes) and posts S3 notifications for staging writes to the webhook
// whose URL is stored in hook, as a real storage server would.
func fakeRemoteS3(t *testing.T, served *env.Counter, hook *atomic.Pointer[string]) *httptest.Server {
	t.Helper()
	post := &http.Client{Timeout: 10 * time.Second}
	backend := env.NotifyingBackend(objstore.New(objstore.Options{}), func(key string, size int64) {
		u := hook.Load()
		if u == nil {
			return
		}
		doc := fmt.Sprintf(`{"Records":[{"eventName":"s3:ObjectCreated:Put","s3":{"bucket":{"name":"count"},"object":{"key":%q,"size":%d}}}]}`,
			url.QueryEscape(key), size)
		if resp, err := post.Post(*u, "application/json", strings.NewReader(doc)); err == nil {
			resp.Body.Close()
		}
	})
	faker := gofakes3.New(backend, gofakes3.WithoutVersioning(), gofakes3.WithLogger(gofakes3.DiscardLog()))
	srv := httptest.NewUnstartedServer(served.WrapS3(faker.Server()))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // gofakes3 double-writes headers on cancelled requests
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

// TestRemote_S3Ops_MatchesServerCount: on an S3 endpoint the harness does
// not serve, its clients count every request they send, by the same
// operation names and in the same numbers as a counter in front of the
// server sees for the same run.
func TestRemote_S3Ops_MatchesServerCount(t *testing.T) {
	testsrv.AWSEnv(t)
	served := env.NewCounter(nil)
	var hook atomic.Pointer[string]
	srv := fakeRemoteS3(t, served, &hook)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	r, err := env.NewRemote(ctx, env.RemoteOptions{S3URL: srv.URL, Bucket: "count"})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	hook.Store(&r.Webhook.URL)
	sc, err := scenarios.Parse("s3count.yaml", []byte(countScenario))
	if err != nil {
		t.Fatal(err)
	}
	kp, _ := env.RunPrefixes("run-count")
	res, err := sim.Run(ctx, sim.Options{Scenario: sc, Seed: sc.Seed, OutDir: t.TempDir(), Env: r.Env, KeyPrefix: kp})
	if err != nil {
		t.Fatal(err)
	}
	if m := res.Measure.Outcomes; m["committed"]+m["conflict"] != res.Planned || m["committed"] == 0 {
		t.Fatalf("outcomes %v, planned %d", m, res.Planned)
	}

	got, want := r.S3Ops(), served.Counts().S3
	t.Logf("client side %v", got)
	// The run's own figures (calls per upload) come from the same
	// counter, taken before the read-back.
	if res.Ops.S3["PUT"] == 0 || res.Ops.S3["COPY"] == 0 {
		t.Errorf("run counted %v", res.Ops.S3)
	}
	for op, n := range res.Ops.S3 {
		if n > got[op] {
			t.Errorf("run counted %d %s, more than the %d sent in all", n, op, got[op])
		}
	}
	// The live metrics see them too (not only results.json).
	mfs, err := res.Gatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var live float64
	for _, mf := range mfs {
		if mf.GetName() == "stormsim_s3_requests_total" {
			for _, m := range mf.GetMetric() {
				live += m.GetCounter().GetValue()
			}
		}
	}
	if live == 0 {
		t.Errorf("stormsim_s3_requests_total is 0 on a real S3")
	}
	if !maps.Equal(got, want) {
		t.Errorf("client side counted %v\nserver side counted %v", got, want)
	}
	// The devices' presigned PUTs and multipart uploads, the coordinator's
	// copies, reads and deletes, the bucket setup and the read-back.
	for _, op := range []string{"PUT", "COPY", "GET", "HEAD", "DELETE", "LIST",
		"CREATE_MULTIPART", "UPLOAD_PART", "COMPLETE_MULTIPART"} {
		if got[op] == 0 {
			t.Errorf("no %s counted", op)
		}
	}
}
