package model

import "math/bits"

// The virtual clock is an int64 count of nanoseconds since the run's
// start; the event queue is a radix heap (Ahuja, Mehlhorn, Orlin and
// Tarjan 1990) of small values ordered by time, then by insertion (so
// equal times keep their order and a run is reproducible). A radix heap
// needs what a discrete-event loop guarantees: nothing is scheduled
// before the event being handled. Buckets are slices appended to and
// scanned in order, so with a million uploads in flight the queue costs
// sequential memory traffic instead of a heap's cache miss per level, and
// no event holds a pointer for the garbage collector to scan.
//
// Insertion order holds without a sequence number: every bucket keeps its
// events in insertion order (pushes append; a refill moves a bucket's
// events, in order, into buckets that were empty), and bucket 0 holds
// only events at the current time, popped first in, first out.

type evKind uint8

const (
	evDeliver evKind = iota // an S3 event reaches the handler pool
	evCall                  // an invocation's next call (or its end) is due
	evLearn                 // a device learns its upload's outcome
	// regions (regions.go, replicate.go)
	evReplicate // a version's replication event reaches its home's queue
	evReplStep  // a replication job's next step is due
	evNotify    // a replication notification reaches a region
)

type event struct {
	at   int64
	id   int32 // an invocation (evDeliver, evCall), an upload (evLearn), a replication job or notice
	kind evKind
}

type eventQueue struct {
	// b[0] holds events at last (from head on); b[i], i > 0, events whose
	// time first differs from last in bit i-1.
	b     [65][]event
	head  int
	last  int64 // the time of the last event popped: none is earlier
	n     int
	max   int   // most events queued at once
	minAt int64 // with minOK: the earliest event outside b[0]
	minOK bool
}

func (q *eventQueue) len() int { return q.n }

func bucket(at, last int64) int { return bits.Len64(uint64(at ^ last)) }

// push queues an event at at; one earlier than the last popped is due
// now (the model never makes one: its delays are not negative).
func (q *eventQueue) push(at int64, kind evKind, id int32) {
	at = max(at, q.last)
	i := bucket(at, q.last)
	q.b[i] = append(q.b[i], event{at: at, kind: kind, id: id})
	q.n++
	q.max = max(q.max, q.n)
	if i > 0 && q.minOK {
		q.minAt = min(q.minAt, at)
	}
}

// peek returns the time of the next event.
func (q *eventQueue) peek() (int64, bool) {
	switch {
	case q.n == 0:
		return 0, false
	case q.head < len(q.b[0]):
		return q.last, true
	}
	return q.earliest(), true
}

// earliest is the earliest event outside b[0] (b[0] empty, q.n > 0): in
// the first non-empty bucket, since a lower bucket's events are earlier.
func (q *eventQueue) earliest() int64 {
	if q.minOK {
		return q.minAt
	}
	for _, b := range q.b[1:] {
		if len(b) == 0 {
			continue
		}
		m := b[0].at
		for k := range b {
			m = min(m, b[k].at)
		}
		q.minAt, q.minOK = m, true
		return m
	}
	panic("model: event queue count is wrong")
}

func (q *eventQueue) pop() event {
	if q.head == len(q.b[0]) {
		q.refill()
	}
	e := q.b[0][q.head]
	q.head++
	q.n--
	return e
}

// refill moves the first non-empty bucket's events, in order, into the
// lower buckets, relative to their earliest time, which becomes last.
func (q *eventQueue) refill() {
	q.b[0], q.head = q.b[0][:0], 0
	q.last = q.earliest()
	q.minOK = false
	for i := 1; i < len(q.b); i++ {
		if len(q.b[i]) == 0 {
			continue
		}
		for _, e := range q.b[i] {
			j := bucket(e.at, q.last)
			q.b[j] = append(q.b[j], e)
		}
		q.b[i] = q.b[i][:0]
		return
	}
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
