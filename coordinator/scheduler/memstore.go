package scheduler

import (
	"container/heap"
	"context"
	"math/rand/v2"
	"sync"
	"time"
)

var (
	_ Store    = (*MemStore)(nil)
	_ Register = (*MemStore)(nil)
	_ Stale    = (*MemStore)(nil)
)

// MemStore is an in-memory event table with an arm register. With a
// staleness window it models the eventually consistent original (SimpleDB):
// each insert becomes visible to Due and Next only after a delay drawn
// uniformly from [0, staleness], so a read sees the table as it was up to
// staleness ago. Done-marks and the register are strongly consistent (the
// original used conditional puts and consistent reads for those), so a stale
// read can hide a pending event but never resurrect a done one.
type MemStore struct {
	now       func() time.Time
	staleness time.Duration

	mu      sync.Mutex
	rng     *rand.Rand
	events  map[string]*memEntry
	visible dueHeap
	hidden  hideHeap
	arm     ArmState
}

type memEntry struct {
	ev   Event
	gen  uint64 // bumped by every Put, so older heap items go stale
	done bool
}

// NewMemStore returns an empty table. now is the clock visibility is judged
// by; staleness 0 makes every read current; seed drives the delays.
func NewMemStore(now func() time.Time, staleness time.Duration, seed uint64) *MemStore {
	return &MemStore{
		now:       now,
		staleness: staleness,
		rng:       rand.New(rand.NewPCG(seed, 0x5ced)),
		events:    make(map[string]*memEntry),
	}
}

// Staleness implements Stale.
func (s *MemStore) Staleness() time.Duration { return s.staleness }

// Put implements Store.
func (s *MemStore) Put(_ context.Context, ev Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.events[ev.ID]
	if e == nil {
		e = &memEntry{}
		s.events[ev.ID] = e
	}
	e.ev, e.done = ev, false
	e.gen++
	it := item{due: ev.Due, e: e, gen: e.gen}
	if s.staleness <= 0 {
		heap.Push(&s.visible, it)
		return nil
	}
	delay := time.Duration(s.rng.Int64N(int64(s.staleness) + 1))
	heap.Push(&s.hidden, hidden{at: s.now().Add(delay), it: it})
	return nil
}

// Due implements Store.
func (s *MemStore) Due(_ context.Context, now time.Time, limit int) ([]Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reveal()
	var out []Event
	var keep []item
	for len(s.visible) > 0 && len(out) < limit {
		it := s.visible[0]
		if it.due.After(now) {
			break
		}
		heap.Pop(&s.visible)
		if it.live() {
			out = append(out, it.e.ev)
			keep = append(keep, it)
		}
	}
	for _, it := range keep { // still pending until MarkDone
		heap.Push(&s.visible, it)
	}
	return out, nil
}

// Next implements Store.
func (s *MemStore) Next(context.Context) (time.Time, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reveal()
	for len(s.visible) > 0 {
		if it := s.visible[0]; it.live() {
			return it.due, true, nil
		}
		heap.Pop(&s.visible)
	}
	return time.Time{}, false, nil
}

// MarkDone implements Store.
func (s *MemStore) MarkDone(_ context.Context, id string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.events[id]
	if e == nil || e.done {
		return false, nil
	}
	e.done = true
	delete(s.events, id)
	return true, nil
}

// Pending counts events not yet done, visible or not.
func (s *MemStore) Pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.events)
}

// reveal moves inserts whose visibility delay has passed into the visible
// index. Callers hold mu.
func (s *MemStore) reveal() {
	if len(s.hidden) == 0 {
		return
	}
	now := s.now()
	for len(s.hidden) > 0 && !s.hidden[0].at.After(now) {
		h := heap.Pop(&s.hidden).(hidden)
		if h.it.live() {
			heap.Push(&s.visible, h.it)
		}
	}
}

// ArmState implements Register.
func (s *MemStore) ArmState(context.Context) (ArmState, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.arm, nil
}

// NoteInsert implements Register.
func (s *MemStore) NoteInsert(_ context.Context, target, now, spent time.Time) (ArmState, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.arm.Version++
	if now.After(s.arm.LastPut) {
		s.arm.LastPut = now
	}
	t := s.arm.Target
	lowered := t.IsZero() || target.Before(t) || !t.After(spent)
	if lowered {
		s.arm.Target = target
	}
	st := s.arm
	st.Lowered = lowered
	return st, nil
}

// SetTarget implements Register.
func (s *MemStore) SetTarget(_ context.Context, version int64, target time.Time) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.arm.Version != version {
		return false, nil
	}
	s.arm.Target = target
	s.arm.Version++
	return true, nil
}

// item is one index entry; it is stale once its entry is done or re-put.
type item struct {
	due time.Time
	e   *memEntry
	gen uint64
}

func (it item) live() bool { return !it.e.done && it.e.gen == it.gen }

type dueHeap []item

func (h dueHeap) Len() int { return len(h) }
func (h dueHeap) Less(i, j int) bool {
	if h[i].due.Equal(h[j].due) {
		return h[i].e.ev.ID < h[j].e.ev.ID
	}
	return h[i].due.Before(h[j].due)
}
func (h dueHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *dueHeap) Push(x any)   { *h = append(*h, x.(item)) }
func (h *dueHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	*h = old[:len(old)-1]
	return it
}

type hidden struct {
	at time.Time
	it item
}

type hideHeap []hidden

func (h hideHeap) Len() int           { return len(h) }
func (h hideHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h hideHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *hideHeap) Push(x any)        { *h = append(*h, x.(hidden)) }
func (h *hideHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	*h = old[:len(old)-1]
	return it
}
