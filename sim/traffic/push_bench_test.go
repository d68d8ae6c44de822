package traffic

import (
	"context"
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/stormsim/stormsim/coordinator"
	"github.com/stormsim/stormsim/sim/env"
)

// BenchmarkPushHub_Hand is one push from the result's publication in Redis
// to the waiting device: the PUBLISH, miniredis's fan-out, go-redis's
// pattern subscription, the hub's decoding and hand-off (no loss, no
// delay). The payloads are built before the timer starts.
func BenchmarkPushHub_Hand(b *testing.B) {
	e, err := env.NewEmbedded(env.EmbeddedOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	ctx := context.Background()
	h, err := NewPushHub(ctx, e.Redis, "push:*", time.Now, discardSink{})
	if err != nil {
		b.Fatal(err)
	}
	defer h.Close()
	payloads := make([]string, b.N)
	ids := make([]string, b.N)
	for i := range b.N {
		ids[i] = "up-" + strconv.Itoa(i)
		p, err := json.Marshal(coordinator.Result{ID: ids[i], User: "u1", Path: "docs/report.txt", State: coordinator.StateCommitted,
			Base: 3, Version: 4, SHA256: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", DecidedAt: time.Now()})
		if err != nil {
			b.Fatal(err)
		}
		payloads[i] = string(p)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		ch := make(chanTarget, 1)
		h.wait(ids[i], ch)
		if err := e.Redis.Publish(ctx, "push:u1", payloads[i]).Err(); err != nil {
			b.Fatal(err)
		}
		if res := <-ch; res.ID != ids[i] {
			b.Fatalf("push for %s, want %s", res.ID, ids[i])
		}
		h.forget(ids[i])
	}
}

// chanTarget hands a push to a channel (the benchmark's device).
type chanTarget chan coordinator.Result

func (c chanTarget) push(res coordinator.Result) { c <- res }
