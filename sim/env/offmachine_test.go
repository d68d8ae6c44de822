package env_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/stormsim/stormsim/internal/connect"
	"github.com/stormsim/stormsim/internal/testsrv"
	"github.com/stormsim/stormsim/scenarios"
	"github.com/stormsim/stormsim/sim"
	"github.com/stormsim/stormsim/sim/env"
)

// tiny is a few uploads, some multipart, with pushes and polls.
const tiny = `
name: tiny
seed: 3
drain: 60s
phases:
  - {kind: burst, count: 40, at: 0s, duration: 500ms}
population: {users: 5, devices_per_user: 2, files_per_user: 2, hot_files: 1, hot_share: 0.5}
sizes: {kind: uniform, min: 1KiB, max: 200KiB, multipart_threshold: 100KiB}
wait: {poll: {timeout: 60s}}
`

// offMachine records every dial to an address that is not loopback, and
// refuses it.
type offMachine struct {
	mu   sync.Mutex
	seen []string
}

func (g *offMachine) check(network, addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	if ip := net.ParseIP(host); host == "localhost" || ip != nil && ip.IsLoopback() {
		return nil
	}
	g.mu.Lock()
	g.seen = append(g.seen, network+" "+addr)
	g.mu.Unlock()
	return fmt.Errorf("off-machine dial refused by the test: %s %s", network, addr)
}

func (g *offMachine) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	if err := g.check(network, addr); err != nil {
		return nil, err
	}
	return (&net.Dialer{Timeout: 5 * time.Second}).DialContext(ctx, network, addr)
}

func (g *offMachine) dials() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.seen...)
}

// DialHook makes offMachine a go-redis hook: every connection the client
// opens is checked.
func (g *offMachine) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		if err := g.check(network, addr); err != nil {
			return nil, err
		}
		return next(ctx, network, addr)
	}
}
func (g *offMachine) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }
func (g *offMachine) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// guardDefaultTransport makes every HTTP transport cloned from
// http.DefaultTransport from now on (the harness's S3 clients, presigned
// PUTs, the result API polls) dial through g. Not for parallel tests.
func guardDefaultTransport(t *testing.T, g *offMachine) {
	old := http.DefaultTransport
	tr := old.(*http.Transport).Clone()
	tr.DialContext = g.dial
	http.DefaultTransport = tr
	t.Cleanup(func() { http.DefaultTransport = old })
}

// TestRun_Embedded_StaysOnLoopback runs the small scenario on the
// embedded fakes with no AWS credentials anywhere and fails if anything
// dials a non-loopback address: the HTTP clients (SDK and plain), the
// go-redis client, and the SDK's credential chain, whose EC2 instance
// metadata requests go to a recorder. The control subtest proves the
// guards see an off-machine dial.
func TestRun_Embedded_StaysOnLoopback(t *testing.T) {
	imds := testsrv.NoAWSCredentials(t)
	g := &offMachine{}
	guardDefaultTransport(t, g)

	t.Run("control", func(t *testing.T) {
		c := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone(), Timeout: time.Second}
		_, err := c.Get("http://192.0.2.1/") // TEST-NET-1: never routed
		if err == nil || len(g.dials()) != 1 {
			t.Fatalf("the guard did not see a dial to 192.0.2.1: err %v, dials %v", err, g.dials())
		}
		rdb := redis.NewClient(&redis.Options{Addr: "192.0.2.1:6379", DialTimeout: time.Second, MaxRetries: -1})
		defer rdb.Close()
		rdb.AddHook(g)
		if rdb.Ping(context.Background()).Err() == nil || !strings.Contains(strings.Join(g.dials(), ","), "192.0.2.1:6379") {
			t.Fatalf("the Redis hook did not see a dial to 192.0.2.1: dials %v", g.dials())
		}
		g.mu.Lock()
		g.seen = nil
		g.mu.Unlock()
	})

	sc, err := scenarios.Parse("tiny.yaml", []byte(tiny))
	if err != nil {
		t.Fatal(err)
	}
	// What the run decides is other tests' business; this one watches
	// where it connects (multipart uploads included).
	run := func(t *testing.T, env *env.Env) {
		res, err := sim.Run(context.Background(), sim.Options{Scenario: sc, Seed: sc.Seed, OutDir: t.TempDir(), Env: env})
		if err != nil {
			t.Fatal(err)
		}
		if res.Measure.Outcomes["committed"] == 0 {
			t.Errorf("nothing committed: %v", res.Measure.Outcomes)
		}
	}
	// simrun's default: the run starts the embedded fakes itself.
	t.Run("default run", func(t *testing.T) { run(t, nil) })
	// The embedded stack --external shares with coordinator processes,
	// with the Redis client hooked.
	t.Run("shared embedded stack", func(t *testing.T) {
		r, err := env.NewRemote(context.Background(), env.RemoteOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		r.Redis.AddHook(g)
		if addr := r.Redis.(*redis.Client).Options().Addr; g.check("tcp", addr) != nil {
			t.Errorf("embedded Redis client points at %s", addr)
		}
		run(t, r.Env)
	})
	if d := g.dials(); len(d) > 0 {
		t.Errorf("an embedded run dialled off the machine: %v", d)
	}
	if got := imds.Requests(); len(got) > 0 {
		t.Errorf("an embedded run asked the EC2 instance metadata service: %v", got)
	}
}

// TestNewRemote_NoCredentials_ClearError: --s3 without credentials fails
// at start naming the variables to set; nothing reaches the S3 endpoint
// or the instance metadata service.
func TestNewRemote_NoCredentials_ClearError(t *testing.T) {
	imds := testsrv.NoAWSCredentials(t)
	s3 := testsrv.NewRecorder(t)
	_, err := env.NewRemote(context.Background(), env.RemoteOptions{S3URL: s3.URL, WaitS3: time.Second})
	if !errors.Is(err, connect.ErrNoCredentials) || !errors.Is(err, env.ErrRemote) {
		t.Fatalf("NewRemote = %v, want ErrNoCredentials", err)
	}
	if !strings.Contains(err.Error(), "AWS_ACCESS_KEY_ID") {
		t.Errorf("error %q does not name AWS_ACCESS_KEY_ID", err)
	}
	if got := imds.Requests(); len(got) > 0 {
		t.Errorf("asked the EC2 instance metadata service: %v", got)
	}
	if got := s3.Requests(); len(got) > 0 {
		t.Errorf("sent requests to the S3 endpoint without credentials: %v", got)
	}
}

// TestNewRemote_S3Wait_SaysWebhookListens: while the run waits for the S3
// server, it has already said that the webhook listens (and where), and
// the webhook answers.
func TestNewRemote_S3Wait_SaysWebhookListens(t *testing.T) {
	testsrv.AWSEnv(t)
	s3URL := "http://127.0.0.1:" + strconv.Itoa(testsrv.FreePort(t)) // nothing listens there
	var log testsrv.SyncBuffer
	done := make(chan error, 1)
	go func() {
		r, err := env.NewRemote(context.Background(), env.RemoteOptions{S3URL: s3URL, Bucket: "b", WaitS3: 3 * time.Second, Log: &log})
		if err == nil {
			r.Close()
		}
		done <- err
	}()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(log.String(), "webhook listening at") {
		if time.Now().After(deadline) {
			t.Fatalf("nothing said the webhook listens; log:\n%s", log.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	out := log.String()
	url := strings.Fields(out[strings.Index(out, "webhook listening at ")+len("webhook listening at "):])[0]
	resp, err := http.Post(url, "application/json", strings.NewReader(`{"Records":[]}`))
	if err != nil {
		t.Fatalf("the webhook said to listen at %s but does not answer: %v", url, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Errorf("webhook answered %d", resp.StatusCode)
	}
	for _, want := range []string{s3URL, "waits up to 3s", "bucket b"} {
		if !strings.Contains(out, want) {
			t.Errorf("log does not say %q:\n%s", want, out)
		}
	}
	select {
	case err := <-done:
		t.Fatalf("NewRemote returned before the wait ended: %v", err)
	default:
	}
	if err := <-done; err == nil {
		t.Fatal("NewRemote succeeded with no S3 server")
	}
}
