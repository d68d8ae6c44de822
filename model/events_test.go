package model

import (
	"math/rand/v2"
	"testing"
)

// The queue pops in time order, equal times in insertion order, however
// pushes and pops interleave (pushes never earlier than the last pop, as
// in the event loop); checked against a sorted reference.
func TestEventQueue_Pop_TimeThenInsertionOrder(t *testing.T) {
	for _, tc := range []struct {
		name   string
		spread int64 // pushes land up to spread after the last pop
	}{{"ties", 50}, {"nanoseconds", 1_000}, {"minutes", int64(15 * 60 * 1e9)}} {
		t.Run(tc.name, func(t *testing.T) {
			var q eventQueue
			type ref struct {
				at  int64
				seq int32
			}
			var want []ref
			r := rand.New(rand.NewPCG(1, 2))
			var now int64
			var seq int32
			popped := 0
			for step := range 20000 {
				if step < 19000 && (q.len() == 0 || r.IntN(3) > 0) {
					at := now + r.Int64N(tc.spread)
					q.push(at, evCall, seq)
					want = append(want, ref{at, seq})
					seq++
					continue
				}
				if q.len() == 0 {
					break
				}
				peek, _ := q.peek()
				e := q.pop()
				// the reference: the earliest time, then the lowest seq
				k := 0
				for i, w := range want {
					if w.at < want[k].at || w.at == want[k].at && w.seq < want[k].seq {
						k = i
					}
				}
				if e.at != want[k].at || e.id != want[k].seq || peek != e.at {
					t.Fatalf("pop %d = (%d, id %d), peek %d; want (%d, id %d)", popped, e.at, e.id, peek, want[k].at, want[k].seq)
				}
				want = append(want[:k], want[k+1:]...)
				now = e.at
				popped++
			}
			if q.len() != len(want) || popped < 5000 {
				t.Fatalf("len %d, reference %d, popped %d", q.len(), len(want), popped)
			}
		})
	}
}

func TestSlab_Alloc_ReusesFreed(t *testing.T) {
	var s slab[int64]
	a, b := s.alloc(), s.alloc()
	*s.at(a) = 7
	s.release(a)
	if c := s.alloc(); c != a || *s.at(c) != 0 {
		t.Fatalf("alloc after release = %d (value %d), want %d zeroed", c, *s.at(c), a)
	}
	if s.live != 2 || s.max != 2 || b != 1 {
		t.Fatalf("live %d max %d b %d", s.live, s.max, b)
	}
}
