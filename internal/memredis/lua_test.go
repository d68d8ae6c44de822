package memredis_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/stormsim/stormsim/internal/testsrv"
	"github.com/stormsim/stormsim/sim/env"

	"github.com/alicebob/miniredis/v2"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/redis/go-redis/v9"

	"github.com/stormsim/stormsim/coordinator"
	"github.com/stormsim/stormsim/internal/memredis"
)

// recorder keeps every command the coordinator sends, in order.
type recorder struct {
	mu   sync.Mutex
	cmds [][]any
}

func (r *recorder) DialHook(next redis.DialHook) redis.DialHook { return next }
func (r *recorder) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		r.mu.Lock()
		r.cmds = append(r.cmds, append([]any(nil), cmd.Args()...))
		r.mu.Unlock()
		return next(ctx, cmd)
	}
}
func (r *recorder) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		r.mu.Lock()
		for _, c := range cmds {
			r.cmds = append(r.cmds, append([]any(nil), c.Args()...))
		}
		r.mu.Unlock()
		return next(ctx, cmds)
	}
}

// coordinatorCommands runs the coordinator's real handler through a winner,
// a loser (its conflicted copy), a second commit on the same file and a
// duplicate event, and returns every Redis command it sent.
func coordinatorCommands(t *testing.T) [][]any {
	env, err := env.NewEmbedded(env.EmbeddedOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()
	rec := &recorder{}
	env.Redis.AddHook(rec)
	at := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	// KeepVersions 1: the commit of v2 expires v1 (the expiry metering).
	c, err := coordinator.New(coordinator.Config{Bucket: env.Bucket, Prefix: "t:", KeepVersions: 1, Now: func() time.Time { return at }}, env.S3, env.Redis)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	stage := func(id, path string, base int64) string {
		body := []byte("content of " + id)
		sum := sha256.Sum256(body)
		u := coordinator.Upload{ID: id, User: "u1", Path: path, Base: base, Device: "d1", SHA256: hex.EncodeToString(sum[:])}
		key := c.StagingKey(u.User, u.ID)
		if _, err := env.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: &env.Bucket, Key: &key, Body: bytes.NewReader(body), Metadata: coordinator.Metadata(u)}); err != nil {
			t.Fatal(err)
		}
		return key
	}
	for _, step := range []struct {
		id, path string
		base     int64
		again    bool // stage and handle the same upload again (a duplicate event)
	}{
		{"a", "f.txt", 0, false}, // wins: v1
		{"b", "f.txt", 0, false}, // loses: conflicted copy
		{"c", "f.txt", 1, false}, // wins: v2
		{"d", "g.txt", 0, false},
		{"a", "f.txt", 0, true},  // duplicate: the result exists
		{"e", "f.txt", 0, false}, // loses again: the copy's name is taken, "(2)"
	} {
		key := stage(step.id, step.path, step.base)
		if err := c.HandleKey(ctx, key); err != nil {
			t.Fatalf("handle %s: %v", step.id, err)
		}
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	// The connection handshake (HELLO, CLIENT SETINFO...) names the
	// server; the rest is what the coordinator asked.
	var cmds [][]any
	for _, c := range rec.cmds {
		switch fmt.Sprint(c[0]) {
		case "hello", "client":
			continue
		}
		cmds = append(cmds, c)
	}
	return cmds
}

// replay runs cmds on rdb and returns each reply (or error text).
func replay(t *testing.T, rdb *redis.Client, cmds [][]any) []string {
	var out []string
	for _, args := range cmds {
		v, err := rdb.Do(context.Background(), args...).Result()
		if err != nil {
			out = append(out, "error: "+err.Error())
			continue
		}
		out = append(out, fmt.Sprintf("%#v", v))
	}
	return out
}

// The coordinator's scripts give exactly the same replies on miniredis with
// the script cache as on redis-server, command by command, and the cache
// served most of the script runs.
func TestCache_CoordinatorScripts_SameAsRedisServer(t *testing.T) {
	cmds := coordinatorCommands(t)
	evals := 0
	for _, c := range cmds {
		if s := fmt.Sprint(c[0]); s == "evalsha" || s == "eval" {
			evals++
		}
	}
	if evals < 10 {
		t.Fatalf("the coordinator ran %d scripts, want at least 10", evals)
	}

	// redis-server on a free port, no persistence (skips when it is not
	// installed).
	real := redis.NewClient(&redis.Options{Addr: testsrv.Redis(t)})
	defer real.Close()

	mr := miniredis.RunT(t)
	cache, err := memredis.Install(mr)
	if err != nil {
		t.Fatal(err)
	}
	fake := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	defer fake.Close()

	want, got := replay(t, real, cmds), replay(t, fake, cmds)
	for i := range want {
		if !reflect.DeepEqual(want[i], got[i]) {
			t.Errorf("command %d %v:\n redis-server: %s\n cached:       %s", i, cmds[i], want[i], got[i])
		}
	}
	if n := cache.Calls.Load(); n < int64(evals)/2 {
		t.Errorf("the cache ran %d of %d scripts", n, evals)
	}
}

// Script behaviour beyond the coordinator's: replies of every type, errors,
// pcall, status replies, protected globals, and SCRIPT FLUSH.
func TestCache_Eval_RepliesAsMiniredis(t *testing.T) {
	scripts := []struct {
		name, src string
		keys      []string
		args      []any
	}{
		{"integer", "return 42", nil, nil},
		{"float truncates", "return 3.9", nil, nil},
		{"string", "return ARGV[1]", nil, []any{"x"}},
		{"nil", "return nil", nil, nil},
		{"false", "return false", nil, nil},
		{"true", "return true", nil, nil},
		{"table stops at nil", "return {1, 'a', nil, 3}", nil, nil},
		{"status", "return redis.status_reply('FINE')", nil, nil},
		{"error reply", "return redis.error_reply('no way')", nil, nil},
		{"call", "redis.call('SET', KEYS[1], ARGV[1]); return redis.call('GET', KEYS[1])", []string{"k"}, []any{"v"}},
		{"missing key is false", "return redis.call('GET', 'nope') == false", nil, nil},
		{"pcall error", "local r = redis.pcall('INCR', KEYS[1]); return r['err'] ~= nil", []string{"k"}, nil},
		{"hmget", "redis.call('HSET', 'h', 'a', '1'); return redis.call('HMGET', 'h', 'a', 'b')", nil, nil},
		{"global write refused", "x = 1; return 1", nil, nil},
		{"runtime error", "return redis.call('INCR', KEYS[1])", []string{"k"}, nil},
		{"cjson", "return cjson.encode({a=1})", nil, nil},
	}
	plain := miniredis.RunT(t)
	cached := miniredis.RunT(t)
	cache, err := memredis.Install(cached)
	if err != nil {
		t.Fatal(err)
	}
	a := redis.NewClient(&redis.Options{Addr: plain.Addr()})
	b := redis.NewClient(&redis.Options{Addr: cached.Addr()})
	defer a.Close()
	defer b.Close()
	ctx := context.Background()
	for _, s := range scripts {
		t.Run(s.name, func(t *testing.T) {
			for run := range 3 { // the first run is miniredis's own, then the cache's
				want, werr := a.Eval(ctx, s.src, s.keys, s.args...).Result()
				got, gerr := b.Eval(ctx, s.src, s.keys, s.args...).Result()
				if !reflect.DeepEqual(want, got) || fmt.Sprint(werr) != fmt.Sprint(gerr) {
					t.Errorf("run %d: miniredis %#v, %v; cached %#v, %v", run, want, werr, got, gerr)
				}
			}
		})
	}
	if cache.Calls.Load() == 0 {
		t.Error("the cache ran no script")
	}
	// SCRIPT FLUSH forgets scripts: EVALSHA says NOSCRIPT again.
	sha := b.ScriptLoad(ctx, "return 7").Val()
	if err := b.EvalSha(ctx, sha, nil).Err(); err != nil {
		t.Fatal(err)
	}
	b.ScriptFlush(ctx)
	if err := b.EvalSha(ctx, sha, nil).Err(); err == nil || !redis.HasErrorPrefix(err, "NOSCRIPT") {
		t.Errorf("EVALSHA after SCRIPT FLUSH = %v, want NOSCRIPT", err)
	}
}
