package model

// The virtual clock is an int64 count of nanoseconds since the run's
// start; the event queue is a 4-ary heap (half the levels of a binary
// one, and a node's children share a cache line) of small values ordered by
// time, then by insertion (so equal times keep their order and a run is
// reproducible). No event holds a pointer: the heap stays cheap for the
// garbage collector with millions of uploads in flight.

type evKind uint8

const (
	evDeliver evKind = iota // an S3 event reaches the handler pool
	evCall                  // an invocation's next call (or its end) is due
	evLearn                 // a device learns its upload's outcome
)

type event struct {
	at   int64
	seq  uint64
	kind evKind
	id   int32 // an invocation (evDeliver, evCall) or an upload (evLearn)
}

type eventQueue struct {
	h   []event
	seq uint64
	max int // most events queued at once
}

func (q *eventQueue) len() int { return len(q.h) }

func (q *eventQueue) push(at int64, kind evKind, id int32) {
	q.seq++
	q.h = append(q.h, event{at: at, seq: q.seq, kind: kind, id: id})
	q.max = max(q.max, len(q.h))
	// sift up
	h := q.h
	i := len(h) - 1
	e := h[i]
	for i > 0 {
		p := (i - 1) / 4
		if !less(&e, &h[p]) {
			break
		}
		h[i] = h[p]
		i = p
	}
	h[i] = e
}

func (q *eventQueue) peek() (int64, bool) {
	if len(q.h) == 0 {
		return 0, false
	}
	return q.h[0].at, true
}

func (q *eventQueue) pop() event {
	h := q.h
	top := h[0]
	n := len(h) - 1
	last := h[n]
	q.h = h[:n]
	if n == 0 {
		return top
	}
	h = q.h
	i := 0
	for {
		c := 4*i + 1
		if c >= n {
			break
		}
		for k, end := c+1, min(c+4, n); k < end; k++ {
			if less(&h[k], &h[c]) {
				c = k
			}
		}
		if !less(&h[c], &last) {
			break
		}
		h[i] = h[c]
		i = c
	}
	h[i] = last
	return top
}

func less(a, b *event) bool {
	if a.at != b.at {
		return a.at < b.at
	}
	return a.seq < b.seq
}

// slab hands out indexes of T, reusing freed ones, so per-upload and
// per-invocation state lives only while it is in flight.
type slab[T any] struct {
	items []T
	free  []int32
	live  int
	max   int
}

func (s *slab[T]) alloc() int32 {
	s.live++
	s.max = max(s.max, s.live)
	if n := len(s.free); n > 0 {
		i := s.free[n-1]
		s.free = s.free[:n-1]
		return i
	}
	var zero T
	s.items = append(s.items, zero)
	return int32(len(s.items) - 1)
}

func (s *slab[T]) at(i int32) *T { return &s.items[i] }

func (s *slab[T]) release(i int32) {
	var zero T
	s.items[i] = zero
	s.free = append(s.free, i)
	s.live--
}
