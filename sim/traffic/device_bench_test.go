package traffic

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stormsim/stormsim/coordinator"
	"github.com/stormsim/stormsim/sim/env"
	"github.com/stormsim/stormsim/sim/history"
)

// BenchmarkContent_SHA256 is the device's first pass over its generated
// content (the hash that goes into the metadata).
func BenchmarkContent_SHA256(b *testing.B) {
	for _, size := range []int64{1 << 10, 64 << 10, 1 << 20} {
		b.Run(fmt.Sprintf("%dB", size), func(b *testing.B) {
			b.SetBytes(size)
			b.ReportAllocs()
			for i := range b.N {
				_ = content{seed: uint64(i), size: size}.sha256()
			}
		})
	}
}

// BenchmarkDevice_Stage is the device path up to the staged object: hash
// the content, presign, and PUT it over plain HTTP to the embedded fake
// S3, from 64 concurrent devices. Events go nowhere (no handler runs), so
// this is the harness's own cost per upload plus the fake's PUT.
func BenchmarkDevice_Stage(b *testing.B) {
	for _, size := range []int64{1 << 10, 64 << 10} {
		b.Run(fmt.Sprintf("%dB", size), func(b *testing.B) {
			e, err := env.NewEmbedded(env.EmbeddedOptions{})
			if err != nil {
				b.Fatal(err)
			}
			defer e.Close()
			r := &Devices{Env: e, Now: time.Now}
			b.SetBytes(size)
			b.ReportAllocs()
			b.SetParallelism(32) // 64 goroutines on 2 cores
			var seq atomic.Int64
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := seq.Add(1)
					if err := r.Stage(context.Background(), fmt.Sprintf("bench-%d", i), size, uint64(i)); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "uploads/s")
		})
	}
}

// discardSink drops what the devices record (benchmarks).
type discardSink struct{}

func (discardSink) Started(time.Time, time.Duration)            {}
func (discardSink) Polled(history.Poll, error)                  {}
func (discardSink) TimerLate(time.Duration)                     {}
func (discardSink) Pushed(history.Push)                         {}
func (discardSink) Finished(*history.Upload, time.Time, string) {}

// BenchmarkDevice_Poll is one device poll of a decided upload through the
// result API (served in process, as on the embedded fakes): the device's
// request and its decoding of the answer, plus the API's token check,
// Redis read and JSON reply. 64 devices poll at once.
func BenchmarkDevice_Poll(b *testing.B) {
	e, err := env.NewEmbedded(env.EmbeddedOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	c, err := coordinator.New(coordinator.Config{Bucket: e.Bucket, Prefix: "bench:", Now: time.Now}, e.S3, e.Redis)
	if err != nil {
		b.Fatal(err)
	}
	tokens := coordinator.Tokens{Secret: []byte("bench")}
	e.ServeInProcess("api.bench:1", c.API(tokens))
	dev := &Devices{Env: e, Now: time.Now, API: "http://api.bench:1", Tokens: tokens, Sink: discardSink{}}
	ctx := context.Background()
	if err := dev.Stage(ctx, "p1", 1024, 1); err != nil {
		b.Fatal(err)
	}
	if err := c.HandleKey(ctx, coordinator.StagingKey("u1", "p1")); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetParallelism(32)
	b.RunParallel(func(pb *testing.PB) {
		u := &history.Upload{ID: "p1", User: "u1"}
		for pb.Next() {
			res, err := dev.poll(ctx, u)
			if err != nil || res.State != coordinator.StateCommitted {
				b.Errorf("poll = %+v, %v; want committed", res, err)
				return
			}
		}
	})
}
