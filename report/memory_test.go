package report

import (
	"math"
	"testing"
	"time"

	"github.com/stormsim/stormsim/sim"
)

func TestAddMemory_HarnessGrowth(t *testing.T) {
	// 100 samples over 100,000 uploads with in-flight noise, then a drain
	// sample with everything decided and a smaller heap.
	samples := func(perUpload float64, total int64) []sim.MemSample {
		var s []sim.MemSample
		for i := int64(0); i <= 100; i++ {
			up := i * total / 100
			noise := float64((i*7919)%11) * (100 << 10) // up to 1 MiB of in-flight state
			s = append(s, sim.MemSample{At: time.Duration(i) * time.Second, Uploads: up,
				HeapHarness: int64(80<<20 + noise + perUpload*float64(up)), HeapFakes: up * 900})
		}
		return append(s, sim.MemSample{At: 101 * time.Second, Uploads: total, HeapHarness: 60 << 20, HeapFakes: total * 900})
	}
	tests := []struct {
		name      string
		samples   []sim.MemSample
		want      float64 // bytes per 1k uploads
		tolerance float64
		absent    bool
	}{
		{"flat", samples(0, 100_000), 0, 10_000, false},
		{"leaks 200 bytes per upload", samples(200, 100_000), 200_000, 10_000, false},
		{"too few uploads to tell", samples(200, 5_000), 0, 0, true},
		{"one sample", samples(0, 100_000)[:1], 0, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Results{Harness: &Harness{}}
			addMemory(r, tt.samples)
			g := r.Harness.HeapHarnessPer1kUploads
			if tt.absent {
				if g != nil {
					t.Errorf("growth = %v, want absent", *g)
				}
				return
			}
			if g == nil || math.Abs(*g-tt.want) > tt.tolerance {
				t.Fatalf("growth = %v, want %v ± %v", deref(g), tt.want, tt.tolerance)
			}
			last := tt.samples[len(tt.samples)-1]
			if r.Harness.HeapHarnessEndBytes != last.HeapHarness || r.Harness.HeapFakesEndBytes != last.HeapFakes {
				t.Errorf("end figures %+v, want the last sample %+v", r.Harness, last)
			}
			if len(r.Memory) != len(tt.samples) {
				t.Errorf("%d memory samples copied, want %d", len(r.Memory), len(tt.samples))
			}
		})
	}
}

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}
