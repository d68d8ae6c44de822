package memredis_test

import (
	"bufio"
	"io"
	"testing"

	"github.com/alicebob/miniredis/v2"
	"github.com/alicebob/miniredis/v2/server"

	"github.com/stormsim/stormsim/internal/memredis"
)

// BenchmarkCache_Eval runs a cached script of the coordinator's shape
// (three redis.call: a SET with an expiry, an INCR and an HGET) straight
// through miniredis's dispatch, so allocs/op is the cache's and
// miniredis's own cost per script run, without a client or a connection.
func BenchmarkCache_Eval(b *testing.B) {
	m := miniredis.RunT(b)
	cache, err := memredis.Install(m)
	if err != nil {
		b.Fatal(err)
	}
	const script = `redis.call('SET', KEYS[1], ARGV[1], 'PX', 10000)
local f = redis.call('INCR', KEYS[2])
local h = redis.call('HGET', KEYS[3], 'v')
return {f, h}`
	peer := server.NewPeer(bufio.NewWriter(io.Discard))
	cmd := []string{"EVAL", script, "3", "lock", "fence", "head", "token"}
	m.Server().Dispatch(peer, cmd) // the first run loads the script
	before := cache.Calls.Load()
	b.ReportAllocs()
	for b.Loop() {
		m.Server().Dispatch(peer, cmd)
	}
	if cache.Calls.Load() == before {
		b.Fatal("no run was served from the cache")
	}
}
