package sim_test

import (
	"context"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/redis/go-redis/v9"

	"github.com/stormsim/stormsim/coordinator"
	"github.com/stormsim/stormsim/internal/testsrv"
	"github.com/stormsim/stormsim/sim"
	"github.com/stormsim/stormsim/sim/env"
)

func TestRedisOptions(t *testing.T) {
	tests := []struct {
		name, in  string
		addrs     []string
		cluster   bool
		db        int
		user, pwd string
		tls       bool
		wantErr   bool
	}{
		{name: "plain", in: "redis://127.0.0.1:6379", addrs: []string{"127.0.0.1:6379"}},
		{name: "no scheme", in: "127.0.0.1:7000", addrs: []string{"127.0.0.1:7000"}},
		{name: "db and password", in: "redis://u:secret@h:1/3", addrs: []string{"h:1"}, db: 3, user: "u", pwd: "secret"},
		{name: "tls", in: "rediss://h:6380", addrs: []string{"h:6380"}, tls: true},
		{name: "cluster", in: "h1:7000, h2:7001,redis://h3:7002", addrs: []string{"h1:7000", "h2:7001", "h3:7002"}},
		{name: "single seed cluster", in: "redis://h:7000?cluster=true", addrs: []string{"h:7000"}, cluster: true},
		{name: "cluster has no db", in: "redis://h1:1/2,h2:2", wantErr: true},
		{name: "empty element", in: "h1:1,,h2:2", wantErr: true},
		{name: "bad option", in: "redis://h:1?nonsense=1", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o, err := env.RedisOptions(tc.in)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("no error for %q", tc.in)
				}
				if strings.Contains(err.Error(), "secret") {
					t.Errorf("error shows the password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(o.Addrs, ",") != strings.Join(tc.addrs, ",") || o.IsClusterMode != tc.cluster || o.DB != tc.db ||
				o.Username != tc.user || o.Password != tc.pwd || (o.TLSConfig != nil) != tc.tls {
				t.Errorf("got %+v", o)
			}
		})
	}
}

// runOn runs the small scenario on env under the given prefixes and fails
// the test on any invariant violation.
func runOn(t *testing.T, env *env.Env, keyPrefix, objectPrefix string) *sim.Result {
	t.Helper()
	sc := smallScenario(t, coordinator.StrategyRedisLock)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := sim.Run(ctx, sim.Options{Scenario: sc, Seed: sc.Seed, OutDir: t.TempDir(), Env: env,
		KeyPrefix: keyPrefix, ObjectPrefix: objectPrefix})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range res.Check.Checks {
		if !c.OK {
			t.Errorf("%s: %d violations %v %s", c.Name, c.Violations, c.Examples, c.Detail)
		}
	}
	m := res.Measure.Outcomes
	if got := m["committed"] + m["conflict"]; got != res.Planned || m["committed"] == 0 {
		t.Errorf("outcomes %v, planned %d", m, res.Planned)
	}
	return res
}

func TestNewRemote_RealRedis_RunAndCleanup(t *testing.T) {
	addr := testsrv.Redis(t)
	ctx := context.Background()
	other := redis.NewClient(&redis.Options{Addr: addr})
	defer other.Close()
	// Data the run did not create, including keys that share a prefix
	// with the run's but are not under it.
	for _, k := range []string{"unrelated", "stormsim:run-t1x:k", "stormsim:run-t1"} {
		if err := other.Set(ctx, k, "keep", 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	r, err := env.NewRemote(ctx, env.RemoteOptions{RedisURL: "redis://" + addr})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	kp, _ := env.RunPrefixes("run-t1")
	start := time.Now()
	runOn(t, r.Env, kp, "")
	t.Logf("small scenario on redis-server %s: %v", addr, time.Since(start).Round(time.Millisecond))
	if n, _ := other.Keys(ctx, kp+"*").Result(); len(n) == 0 {
		t.Fatalf("the run left no keys under %s: was the prefix used?", kp)
	}
	c, err := r.Cleanup(ctx, kp, "")
	if err != nil {
		t.Fatal(err)
	}
	if left, _ := other.Keys(ctx, kp+"*").Result(); len(left) != 0 {
		t.Errorf("left after cleanup: %v", left)
	}
	for _, k := range []string{"unrelated", "stormsim:run-t1x:k", "stormsim:run-t1"} {
		if v, _ := other.Get(ctx, k).Result(); v != "keep" {
			t.Errorf("cleanup touched %s", k)
		}
	}
	t.Logf("cleanup removed %d keys", c.Keys)
}

func TestNewRemote_RedisCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a three-node cluster")
	}
	addrs := testsrv.RedisCluster(t, 3)
	ctx := context.Background()
	r, err := env.NewRemote(ctx, env.RemoteOptions{RedisURL: strings.Join(addrs, ",")})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, ok := r.Redis.(*redis.ClusterClient); !ok {
		t.Fatalf("client is a %T, want a cluster client", r.Redis)
	}
	kp, _ := env.RunPrefixes("run-cluster")
	runOn(t, r.Env, kp, "")
	c, err := r.Cleanup(ctx, kp, "")
	if err != nil {
		t.Fatal(err)
	}
	if c.Keys == 0 {
		t.Errorf("cleanup found no keys on the cluster")
	}
	var left atomic.Int64 // masters are visited concurrently
	_ = r.Redis.(*redis.ClusterClient).ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error {
		ks, _ := n.Keys(ctx, kp+"*").Result()
		left.Add(int64(len(ks)))
		return nil
	})
	if left := left.Load(); left != 0 {
		t.Errorf("%d keys left on the cluster", left)
	}
}

// TestNewRemote_Versitygw runs the small scenario against versitygw, whose
// own S3 notifications (posted to the harness's webhook) drive the handler.
func TestNewRemote_Versitygw(t *testing.T) {
	bin := testsrv.VersitygwPath(t)
	testsrv.AWSEnv(t)
	ctx := context.Background()
	hookAddr := "127.0.0.1:" + strconv.Itoa(testsrv.FreePort(t))
	s3Port := testsrv.FreePort(t)
	s3URL := "http://127.0.0.1:" + strconv.Itoa(s3Port)
	kp, op := env.RunPrefixes("run-vgw")

	// NewRemote listens on the webhook first and waits for the server;
	// versitygw starts only once the webhook answers.
	type made struct {
		r   *env.Remote
		err error
	}
	ch := make(chan made, 1)
	go func() {
		r, err := env.NewRemote(ctx, env.RemoteOptions{S3URL: s3URL, Bucket: "stormsim-test", ObjectPrefix: op,
			Webhook: hookAddr, WaitS3: 30 * time.Second})
		ch <- made{r, err}
	}()
	testsrv.WaitTCP(t, hookAddr, 10*time.Second)
	testsrv.Versitygw(t, bin, s3Port, "http://"+hookAddr+"/events")
	m := <-ch
	if m.err != nil {
		t.Fatal(m.err)
	}
	r := m.r
	defer r.Close()
	if !r.CreatedBucket {
		t.Errorf("the bucket should have been created")
	}
	// An object the run did not create, in the same bucket.
	foreign := "someone-else/staging/u1/x"
	if _, err := r.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: &r.Bucket, Key: &foreign, Body: strings.NewReader("x")}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	res := runOn(t, r.Env, kp, op)
	t.Logf("small scenario on versitygw: %v, webhook passed on %d of %d records", time.Since(start).Round(time.Millisecond),
		r.Webhook.Stats().Emitted.Load(), r.Webhook.Stats().Records.Load())
	if got := r.Webhook.Stats().Emitted.Load(); got < res.Planned {
		t.Errorf("webhook passed on %d events for %d uploads", got, res.Planned)
	}
	c, err := r.Cleanup(ctx, kp, op)
	if err != nil {
		t.Fatal(err)
	}
	if c.Objects == 0 {
		t.Errorf("cleanup removed no objects")
	}
	out, err := r.S3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &r.Bucket})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Contents) != 1 || aws.ToString(out.Contents[0].Key) != foreign {
		var ks []string
		for _, o := range out.Contents {
			ks = append(ks, aws.ToString(o.Key))
		}
		t.Errorf("after cleanup the bucket holds %v, want only %s", ks, foreign)
	}
}
