package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/redis/go-redis/v9"

	"github.com/stormsim/stormsim/coordinator"
	"github.com/stormsim/stormsim/internal/testsrv"
	"github.com/stormsim/stormsim/report"
	"github.com/stormsim/stormsim/sim/env"
)

// TestServerOptions_RemoteAPI_BadUsage: --result-api is a run against a
// deployment: without its servers, beside --external or --webhook, with a
// bad URL or without the deployment's token secret, it is bad usage (exit
// 2) saying why, found before anything is sent.
func TestServerOptions_RemoteAPI_BadUsage(t *testing.T) {
	s3 := testsrv.NewRecorder(t)
	const secret = "0123456789abcdef"
	tests := []struct {
		name   string
		args   []string
		secret string
		want   string
	}{
		{"alone (embedded servers)", []string{"--result-api", "http://127.0.0.1:1"}, secret, "needs --s3 and --redis"},
		{"without --redis", []string{"--result-api", "http://127.0.0.1:1", "--s3", s3.URL}, secret, "needs --s3 and --redis"},
		{"without --s3", []string{"--result-api", "http://127.0.0.1:1", "--redis", "redis://127.0.0.1:1"}, secret, "needs --s3 and --redis"},
		{"not a URL", []string{"--result-api", "127.0.0.1:1", "--s3", s3.URL, "--redis", "redis://127.0.0.1:1"}, secret, "want the API's base"},
		{"with --external", []string{"--result-api", "http://127.0.0.1:1", "--s3", s3.URL, "--redis", "redis://127.0.0.1:1", "--external"}, secret, "--external"},
		{"with --webhook", []string{"--result-api", "http://127.0.0.1:1", "--s3", s3.URL, "--redis", "redis://127.0.0.1:1", "--webhook", ":0"}, secret, "--webhook"},
		{"no secret", []string{"--result-api", "http://127.0.0.1:1", "--s3", s3.URL, "--redis", "redis://127.0.0.1:1"}, "", tokenSecretEnv},
		{"short secret", []string{"--result-api", "http://127.0.0.1:1", "--s3", s3.URL, "--redis", "redis://127.0.0.1:1"}, "short", tokenSecretEnv},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var o runOptions
			if err := newRunFlags(&o).Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			_, err := o.servers.remoteAPI(func(string) string { return tt.secret })
			if exitCode(err) != exitUsage || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("%v: %v (exit %d), want a usage error saying %q", tt.args, err, exitCode(err), tt.want)
			}
			t.Setenv(tokenSecretEnv, tt.secret)
			args := append([]string{"--quiet", "--out", filepath.Join(t.TempDir(), "r")}, tt.args...)
			if code := run(append(args, "../../scenarios/ci.yaml")); code != exitUsage {
				t.Errorf("simrun %v: exit %d, want %d", tt.args, code, exitUsage)
			}
		})
	}
	if got := s3.Requests(); len(got) > 0 {
		t.Errorf("requests sent: %v", got)
	}
}

const deployedTiny = `
name: deployed-tiny
seed: 7
drain: 30s
phases:
  - {kind: burst, count: 40, at: 0s, duration: 500ms}
  - {kind: constant, rate: 20, duration: 2s}
population: {users: 8, devices_per_user: 2, files_per_user: 3, hot_files: 1, hot_share: 0.5}
sizes: {kind: lognormal, median: 2KiB, sigma: 1, cap: 64KiB}
wait: {poll: {timeout: 30s}}
gates: ["invariants.violations == 0", "uploads.unknown == 0", "uploads.committed > 0"]
`

// TestRunCmd_ResultAPI_Deployment runs simrun against a deployment on one
// machine, as against the AWS stack: redis-server and versitygw are the
// deployment's servers; versitygw's notifications go to the deployment
// (a receiver that queues them, standing for S3 invoking the Lambda) and
// a `simrun coordinator` process decides them; the result API is served
// apart, with its own token secret. The harness only uploads and polls
// that API: the run passes, every decision made by the coordinator
// process and none by the harness.
func TestRunCmd_ResultAPI_Deployment(t *testing.T) {
	if testing.Short() {
		t.Skip("starts redis-server, versitygw and a coordinator process")
	}
	vgw := testsrv.VersitygwPath(t)
	redisAddr := testsrv.Redis(t)
	testsrv.AWSEnv(t)
	ctx := context.Background()
	const bucket, runID, secret = "deployed", "rapi-1", "the-deployment-secret"
	kp, op := env.RunPrefixes(runID)

	// The deployment: S3 notifications into a queue, one coordinator
	// process consuming it, the result API on its own server.
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr})
	defer rdb.Close()
	q, err := coordinator.NewQueue(rdb, coordinator.QueueConfig{Stream: kp + "events"})
	if err != nil {
		t.Fatal(err)
	}
	notified, err := env.NewWebhook("", bucket, op+coordinator.StagingPrefix)
	if err != nil {
		t.Fatal(err)
	}
	defer notified.Close()
	notified.SetEmit(func(key string, size int64) {
		rec := events.S3EventRecord{EventName: "ObjectCreated:Put", EventSource: "aws:s3", EventTime: time.Now(),
			S3: events.S3Entity{Bucket: events.S3Bucket{Name: bucket}, Object: events.S3Object{Key: key, Size: size}}}
		if _, err := q.Add(ctx, rec); err != nil {
			t.Errorf("queue notification for %s: %v", key, err)
		}
	})
	s3URL := testsrv.Versitygw(t, vgw, 0, notified.URL)
	coord := startDeployedCoordinator(t, "--redis", "redis://"+redisAddr, "--s3", s3URL, "--bucket", bucket,
		"--key-prefix", kp, "--object-prefix", op)
	apiCoord, err := coordinator.New(coordinator.Config{Bucket: bucket, Prefix: kp, ObjectPrefix: op, Now: time.Now},
		env.NewS3Client(s3URL, "us-east-1", credentials.NewStaticCredentialsProvider(testsrv.AccessKey, testsrv.SecretKey, ""), &http.Client{Timeout: time.Minute}), rdb)
	if err != nil {
		t.Fatal(err)
	}
	var apiFailed atomic.Int64 // 5xx answers: the API itself broke
	apiHandler := apiCoord.API(coordinator.Tokens{Secret: []byte(secret)})
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		defer func() {
			if p := recover(); p != nil {
				apiFailed.Add(1)
				panic(p)
			}
			if sw.code >= 500 {
				apiFailed.Add(1)
			}
		}()
		apiHandler.ServeHTTP(sw, r)
	}))
	defer api.Close()

	// The harness, against it.
	dir := t.TempDir()
	scen := filepath.Join(dir, "deployed.yaml")
	if err := os.WriteFile(scen, []byte(deployedTiny), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv(tokenSecretEnv, secret)
	out := filepath.Join(dir, "run")
	code := run([]string{"--quiet", "--run-id", runID, "--s3", s3URL, "--bucket", bucket, "--redis", "redis://" + redisAddr,
		"--s3-wait", "20s", "--result-api", api.URL, "--out", out, scen})
	r, rerr := report.ReadResults(filepath.Join(out, "results.json"))
	if rerr != nil {
		t.Fatalf("exit %d, no results: %v", code, rerr)
	}
	if code != exitPass {
		b, _ := json.MarshalIndent(r, "", "  ")
		t.Fatalf("run against the deployment: exit %d, want %d; failed uploads:\n%s\nresults:\n%.4000s", code, exitPass,
			failedUploads(filepath.Join(out, "history.jsonl")), b)
	}
	if r.Harness == nil {
		t.Fatal("results.json has no harness section")
	}
	if d := r.Harness.Delivery; d.Emitted != 0 || d.Invocations != 0 {
		t.Errorf("the harness delivered events itself: %+v", d)
	}
	if n := apiFailed.Load(); n > 0 {
		t.Errorf("the result API answered %d polls with a server error", n)
	}
	if len(r.Invariants) == 0 || r.Uploads.Committed == 0 {
		t.Errorf("nothing was checked: %d invariants, %d commits", len(r.Invariants), r.Uploads.Committed)
	}
	_ = coord.cmd.Process.Signal(syscall.SIGTERM)
	_ = coord.cmd.Wait()
	if st := notified.Stats(); st.Emitted.Load() == 0 {
		t.Errorf("the deployment got no notifications from versitygw (%d requests)", st.Requests.Load())
	}
	if !strings.Contains(coord.output(), "stopped after ") || strings.Contains(coord.output(), "stopped after 0 events") {
		t.Errorf("the coordinator process decided nothing:\n%s", coord.output())
	}
	t.Logf("uploads %d, committed %d; coordinator: %s", r.Uploads.Total, r.Uploads.Committed, lastLine(coord.output()))
}

// startDeployedCoordinator starts `simrun coordinator` with the
// environment of the test (versitygw's credentials).
func startDeployedCoordinator(t *testing.T, args ...string) *coordinatorProcess {
	t.Helper()
	p := startCoordinatorEnv(t, "deployed", nil, args...)
	waitOutput(t, p, "events from", 30*time.Second)
	return p
}

// statusWriter keeps the status code of a response.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	w.code = code
	w.ResponseWriter.WriteHeader(code)
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	return s[strings.LastIndex(s, "\n")+1:]
}

// failedUploads is the history's lines of uploads that ended in an error
// (the device's reason is in them), for a failing test's message.
func failedUploads(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	var failed []string
	for _, line := range strings.Split(string(b), "\n") {
		if strings.Contains(line, `"outcome":"error"`) {
			failed = append(failed, line)
		}
	}
	return strings.Join(failed, "\n")
}
