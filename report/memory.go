package report

import "github.com/stormsim/stormsim/sim"

// addMemory copies the run's memory samples and derives the harness's
// heap figures from them.
func addMemory(r *Results, samples []sim.MemSample) {
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
	if slope, ok := heapSlope(samples); ok {
		v := round2(1000 * slope)
		h.HeapHarnessPer1kUploads = &v
	}
}

// heapSlope fits harness heap bytes against uploads started, by least
// squares over the load's samples past its first tenth of the uploads
// (the warm-up fills pools and buffers once; the drain, with nothing
// starting, would only pull the line down). Not ok for runs too short
// to tell growth from the load's own variation.
func heapSlope(samples []sim.MemSample) (float64, bool) {
	total := samples[len(samples)-1].Uploads
	var n, sx, sy, sxx, sxy float64
	for _, m := range samples {
		if m.Uploads*10 < total || m.Uploads == total {
			continue
		}
		x, y := float64(m.Uploads), float64(m.HeapHarness)
		n++
		sx += x
		sy += y
		sxx += x * x
		sxy += x * y
	}
	d := n*sxx - sx*sx
	if n < 10 || total < 10_000 || d <= 0 {
		return 0, false
	}
	return (n*sxy - sx*sy) / d, true
}
