package sim

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stormsim/stormsim/coordinator"
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
			env, err := NewEmbedded(EmbeddedOptions{})
			if err != nil {
				b.Fatal(err)
			}
			defer env.Close()
			r := &runner{env: env, now: time.Now}
			b.SetBytes(size)
			b.ReportAllocs()
			b.SetParallelism(32) // 64 goroutines on 2 cores
			var seq atomic.Int64
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := seq.Add(1)
					c := content{seed: uint64(i), size: size}
					u := coordinator.Upload{ID: fmt.Sprintf("bench-%d", i), User: "u1", Path: "f.txt", Device: "d", SHA256: c.sha256()}
					if err := r.stagePut(context.Background(), coordinator.StagingKey(u.User, u.ID), coordinator.Metadata(u), c); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "uploads/s")
		})
	}
}
