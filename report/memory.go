package report

import "github.com/stormsim/stormsim/sim/measure"

// addMemory copies the run's memory samples and derives the harness's
// heap figures from them.
func addMemory(r *Results, samples []measure.MemSample) {
	if len(samples) == 0 || r.Harness == nil {
		return
	}
	h := r.Harness
	for _, m := range samples {
		r.Memory = append(r.Memory, MemorySample{Second: round2(m.At.Seconds()), Uploads: m.Uploads, RSSBytes: m.RSS,
			HeapHarnessBytes: m.HeapHarness, HeapFakesBytes: m.HeapFakes})
		h.HeapHarnessMaxBytes = max(h.HeapHarnessMaxBytes, m.HeapHarness)
	}
	last := samples[len(samples)-1]
	h.HeapHarnessEndBytes, h.HeapFakesEndBytes = last.HeapHarness, last.HeapFakes
}
