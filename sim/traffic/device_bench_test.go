package traffic

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stormsim/stormsim/sim/env"
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
