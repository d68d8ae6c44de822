package report

import (
	"testing"
	"time"

	"github.com/stormsim/stormsim/sim/measure"
)

func TestAddMemory_EndAndMax(t *testing.T) {
	samples := []measure.MemSample{
		{At: 0, Uploads: 0, HeapHarness: 30 << 20, HeapFakes: 1 << 20},
		{At: 2 * time.Second, Uploads: 600, HeapHarness: 90 << 20, HeapFakes: 40 << 20},
		{At: 4 * time.Second, Uploads: 1200, HeapHarness: 70 << 20, HeapFakes: 80 << 20},
		{At: 5 * time.Second, Uploads: 1200, HeapHarness: 35 << 20, HeapFakes: 60 << 20}, // after the drain
	}
	r := &Results{Harness: &Harness{}}
	addMemory(r, samples)
	h := r.Harness
	if h.HeapHarnessMaxBytes != 90<<20 || h.HeapHarnessEndBytes != 35<<20 || h.HeapFakesEndBytes != 60<<20 {
		t.Errorf("max %d end %d fakes %d, want 90 MiB, 35 MiB, 60 MiB", h.HeapHarnessMaxBytes>>20, h.HeapHarnessEndBytes>>20, h.HeapFakesEndBytes>>20)
	}
	if len(r.Memory) != len(samples) || r.Memory[1].Second != 2 || r.Memory[1].Uploads != 600 {
		t.Errorf("memory series = %+v", r.Memory)
	}
	empty := &Results{Harness: &Harness{}}
	addMemory(empty, nil)
	if empty.Memory != nil || empty.Harness.HeapHarnessMaxBytes != 0 {
		t.Errorf("no samples: %+v", empty)
	}
}
