package schedsim

import (
	"container/heap"
	"time"
)

// Clock is the time source the simulation runs on: Virtual for long runs in
// discrete-event time, Wall beside a real workload.
type Clock interface {
	Now() time.Time
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a scheduled callback; Stop reports whether it prevented the call.
type Timer interface {
	Stop() bool
}

// Wall is the real clock.
type Wall struct{}

// Now returns the wall-clock time.
func (Wall) Now() time.Time { return time.Now() }

// AfterFunc calls f in its own goroutine after d.
func (Wall) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

// Virtual is a discrete-event clock: a heap of timers and a current instant
// that jumps from one timer to the next. Callbacks run one at a time on the
// goroutine that calls Step or RunUntil, and may schedule more timers; ties
// run in the order they were scheduled, so a run is deterministic. A Virtual
// is not safe for concurrent use.
type Virtual struct {
	now  time.Time
	seq  uint64
	h    vheap
	runs int64
}

// NewVirtual returns a clock standing at start.
func NewVirtual(start time.Time) *Virtual { return &Virtual{now: start} }

// Now returns the current virtual instant.
func (v *Virtual) Now() time.Time { return v.now }

// AfterFunc calls f when the clock reaches Now()+d (d < 0 counts as 0).
func (v *Virtual) AfterFunc(d time.Duration, f func()) Timer {
	return v.At(v.now.Add(max(d, 0)), f)
}

// At calls f when the clock reaches t; a t in the past runs at the next step
// without moving the clock back.
func (v *Virtual) At(t time.Time, f func()) *VTimer {
	v.seq++
	vt := &VTimer{when: t, seq: v.seq, f: f, idx: -1, v: v}
	heap.Push(&v.h, vt)
	return vt
}

// Len is the number of timers scheduled and not yet run or stopped.
func (v *Virtual) Len() int { return len(v.h) }

// Steps is how many callbacks have run.
func (v *Virtual) Steps() int64 { return v.runs }

// Step runs the earliest timer due at or before end, advancing the clock to
// it; false when there is none.
func (v *Virtual) Step(end time.Time) bool {
	if len(v.h) == 0 || v.h[0].when.After(end) {
		return false
	}
	vt := heap.Pop(&v.h).(*VTimer)
	if vt.when.After(v.now) {
		v.now = vt.when
	}
	v.runs++
	vt.f()
	return true
}

// RunUntil runs every timer due up to end, then stands the clock at end.
func (v *Virtual) RunUntil(end time.Time) {
	for v.Step(end) {
	}
	if end.After(v.now) {
		v.now = end
	}
}

// VTimer is a Virtual timer.
type VTimer struct {
	when time.Time
	seq  uint64
	f    func()
	idx  int // position in the heap, -1 once run or stopped
	v    *Virtual
}

// Stop removes the timer; false when it already ran or was stopped.
func (t *VTimer) Stop() bool {
	if t.idx < 0 || t.v == nil {
		return false
	}
	heap.Remove(&t.v.h, t.idx)
	return true
}

type vheap []*VTimer

func (h vheap) Len() int { return len(h) }
func (h vheap) Less(i, j int) bool {
	if h[i].when.Equal(h[j].when) {
		return h[i].seq < h[j].seq
	}
	return h[i].when.Before(h[j].when)
}
func (h vheap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].idx, h[j].idx = i, j
}
func (h *vheap) Push(x any) {
	vt := x.(*VTimer)
	vt.idx = len(*h)
	*h = append(*h, vt)
}
func (h *vheap) Pop() any {
	old := *h
	vt := old[len(old)-1]
	old[len(old)-1] = nil
	vt.idx = -1
	*h = old[:len(old)-1]
	return vt
}
