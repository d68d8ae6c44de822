package model

import (
	"math/rand/v2"
	"testing"
)

func TestEventQueue_Pop_TimeThenInsertionOrder(t *testing.T) {
	var q eventQueue
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 1000 {
		q.push(int64(r.IntN(50)), evCall, int32(i))
	}
	var last event
	for n := 0; q.len() > 0; n++ {
		e := q.pop()
		if n > 0 && (e.at < last.at || e.at == last.at && e.seq < last.seq) {
			t.Fatalf("event %d (%d, seq %d) after (%d, seq %d)", n, e.at, e.seq, last.at, last.seq)
		}
		last = e
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
