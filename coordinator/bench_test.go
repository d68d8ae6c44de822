package coordinator_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/stormsim/stormsim/coordinator"
)

// BenchmarkHandler_CommitPath measures the handler's commit path on the
// embedded fakes: 64 workers, 1 KiB uploads to distinct files (no lock
// contention), each a full invocation (read+hash, lock, commit, copy,
// result+push, delete).
func BenchmarkHandler_CommitPath(b *testing.B) {
	for _, strategy := range strategies {
		b.Run(string(strategy), func(b *testing.B) {
			e := newTestEnv(b, strategy, nil)
			body := make([]byte, 1024)
			evs := make([]events.S3Event, b.N)
			for i := range b.N {
				u := coordinator.Upload{ID: fmt.Sprintf("b%d", i), User: "bench", Path: fmt.Sprintf("f/%d", i), Device: "d"}
				evs[i] = e.stage(u, body)
			}
			b.ResetTimer()
			var next atomic.Int64
			var wg sync.WaitGroup
			for range 64 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						i := next.Add(1) - 1
						if i >= int64(b.N) {
							return
						}
						if err := e.c.HandleEvent(context.Background(), evs[i]); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "commits/s")
		})
	}
}
