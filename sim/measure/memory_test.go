package measure

import (
	"bytes"
	"context"
	"fmt"
	"runtime"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/stormsim/stormsim/sim/env"
)

// The split must put what the embedded fakes store on their side and what
// the harness holds on its own, or a flat harness line would prove nothing.
func TestHeapSplitter_StoredStateCountsAsFakes(t *testing.T) {
	old := runtime.MemProfileRate
	runtime.MemProfileRate = 4096
	defer func() { runtime.MemProfileRate = old }()
	e, err := env.NewEmbedded(env.EmbeddedOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ctx := context.Background()
	h := newHeapSplitter()
	runtime.GC()
	h0, f0 := h.split()

	const objects, size = 1000, 8 << 10 // 8 MiB of object bytes
	body := bytes.Repeat([]byte("x"), size)
	for i := range objects {
		key := fmt.Sprintf("files/u/%d", i)
		if _, err := e.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(e.Bucket), Key: &key,
			Body: bytes.NewReader(body)}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 20000 {
		if err := e.Redis.Set(ctx, fmt.Sprintf("k%d", i), "v", 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	held := make([][]byte, 64) // 4 MiB the harness itself keeps
	for i := range held {
		held[i] = make([]byte, 64<<10)
	}
	runtime.GC()
	h1, f1 := h.split()
	runtime.KeepAlive(held)

	fakes, harness := f1-f0, h1-h0
	t.Logf("fakes +%d KiB, harness +%d KiB", fakes>>10, harness>>10)
	if want := int64(objects * size); fakes < want || fakes > 3*want {
		t.Errorf("fakes grew by %d bytes, want between %d (the stored bytes) and three times that", fakes, want)
	}
	if harness < 3<<20 || harness > 8<<20 {
		t.Errorf("harness grew by %d bytes, want about the 4 MiB it holds", harness)
	}
}

func TestScaledInUse(t *testing.T) {
	tests := []struct {
		name              string
		count, size, rate int64
		wantMin, wantMax  int64
	}{
		{"every allocation sampled", 10, 1000, 1, 1000, 1000},
		{"large objects are always sampled", 1, 1 << 30, 512 << 10, 1 << 30, 1<<30 + 1},
		{"small objects scale up", 1, 64, 512 << 10, 500 << 10, 520 << 10},
		{"nothing", 0, 0, 512 << 10, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := scaledInUse(tt.count, tt.size, tt.rate); got < tt.wantMin || got > tt.wantMax {
				t.Errorf("scaledInUse(%d, %d, %d) = %d, want [%d, %d]", tt.count, tt.size, tt.rate, got, tt.wantMin, tt.wantMax)
			}
		})
	}
}

func TestMemSampler_ThinsAndStops(t *testing.T) {
	m := &MemSampler{split: newHeapSplitter(), uploads: func() int64 { return 7 }, done: make(chan struct{})}
	for range 9 {
		m.sample()
	}
	m.thin()
	if got := m.len(); got != 5 {
		t.Errorf("after thinning 9 samples: %d, want 5", got)
	}
	s := m.Stop()
	if len(s) != 6 || s[5].Uploads != 7 || s[5].HeapHarness <= 0 {
		t.Errorf("stop: %d samples, last %+v", len(s), s[len(s)-1])
	}
	if again := m.Stop(); len(again) != 6 {
		t.Errorf("second stop: %d samples, want 6", len(again))
	}
}
