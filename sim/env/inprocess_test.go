package env

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/redis/go-redis/v9"
)

// dialHook records the network of every connection go-redis dials.
type dialHook struct {
	mu   sync.Mutex
	nets []string
}

func (h *dialHook) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := next(ctx, network, addr)
		if err == nil {
			h.mu.Lock()
			h.nets = append(h.nets, c.RemoteAddr().Network())
			h.mu.Unlock()
		}
		return c, err
	}
}
func (h *dialHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }
func (h *dialHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// The embedded environment's clients reach the fakes in process: every
// S3 request the handler sees came through the in-process transport (a
// request over TCP has a loopback RemoteAddr), and every Redis connection
// is an in-memory one. The listeners still serve outside clients.
func TestNewEmbedded_Clients_InProcess(t *testing.T) {
	var mu sync.Mutex
	remotes := map[string]int{}
	env, err := NewEmbedded(EmbeddedOptions{Wrap: func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			remotes[strings.SplitN(r.RemoteAddr, ":", 2)[0]]++
			mu.Unlock()
			h.ServeHTTP(w, r)
		})
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()
	hook := &dialHook{}
	env.Redis.AddHook(hook)
	ctx := context.Background()
	// Enough concurrent commands that the pool dials more connections.
	var wg sync.WaitGroup
	for i := range 32 {
		wg.Go(func() {
			if err := env.Redis.Set(ctx, "k"+string(rune('a'+i)), "v", 0).Err(); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	key := "staging/u/x"
	for _, c := range []*s3.Client{env.S3, env.DeviceS3, env.APIS3} {
		if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: &env.Bucket, Key: &key, Body: bytes.NewReader([]byte("hi"))}); err != nil {
			t.Fatal(err)
		}
	}
	req, _ := http.NewRequest(http.MethodGet, env.S3URL+"/"+env.Bucket+"/"+key, nil)
	resp, err := env.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	mu.Lock()
	if remotes["inproc"] < 5 || len(remotes) != 1 {
		t.Errorf("S3 requests by remote address: %v, want all in process", remotes)
	}
	mu.Unlock()
	hook.mu.Lock()
	defer hook.mu.Unlock()
	for _, n := range hook.nets {
		if n != "inproc" {
			t.Errorf("a Redis connection over %s", n)
		}
	}
	// Outside processes still reach the fakes over the network.
	out := redis.NewClient(&redis.Options{Addr: env.MR.Addr()})
	defer out.Close()
	if v, err := out.Get(ctx, "ka").Result(); err != nil || v != "v" {
		t.Errorf("GET over TCP = %q, %v", v, err)
	}
	resp, err = http.Get(env.S3URL + "/" + env.Bucket + "/" + key)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET over TCP: HTTP %d", resp.StatusCode)
	}
}

// A Redis outage on the in-process path: open connections break, new
// dials are refused while it lasts, and after the restart the client gets
// through again with the data kept.
func TestEnv_RedisOutage_InProcess(t *testing.T) {
	env, err := NewEmbedded(EmbeddedOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()
	ctx := context.Background()
	if err := env.Redis.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	env.StopRedis()
	if _, err := env.dialRedis(ctx, "tcp", ""); err == nil || !strings.Contains(err.Error(), "refused") {
		t.Errorf("dial during the outage = %v, want refused", err)
	}
	if err := env.RestartRedis(); err != nil {
		t.Fatal(err)
	}
	if v, err := env.Redis.Get(ctx, "k").Result(); err != nil || v != "v" {
		t.Errorf("GET after the restart = %q, %v; want v", v, err)
	}
}
