package delivery

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// BenchmarkDelivery_Emit is one S3 notification through the delivery to a
// handler that does nothing: the event's construction, the ready queue,
// a worker's invocation and its bookkeeping (no delay, no faults).
func BenchmarkDelivery_Emit(b *testing.B) {
	keys := make([]string, 1024)
	for i := range keys {
		keys[i] = "staging/u1/up-" + strconv.Itoa(i)
	}
	d := New(Config{Workers: 64, QueueSize: 1024}, func(context.Context, events.S3Event) error { return nil })
	defer d.Close()
	now := time.Now()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		d.Emit("stormsim", keys[i%len(keys)], 1024, now)
	}
	// The events still queued are part of the measurement.
	if err := d.Wait(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	if got := d.Stats().Invocations.Load(); got != int64(b.N) {
		b.Fatalf("%d invocations for %d events", got, b.N)
	}
}
