package model

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stormsim/stormsim/coordinator"
)

// A handler that finds its file's lock held tries again on the
// coordinator's own back-off (coordinator.LockRetryFirst, LockRetryNext),
// until LockWait has passed since its first try; then it fails. The
// expected schedule is built from the coordinator's functions, so a model
// that restated the back-off would fail here once the coordinator's
// changed.
func TestMachine_Lock_CoordinatorBackoff(t *testing.T) {
	sc := builtin(t, "ci")
	p, err := LoadProfile("embedded")
	if err != nil {
		t.Fatal(err)
	}
	m, _, err := newMachine(sc, p, recorded(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	m.lockCall.lat = func(*rand.Rand) int64 { return 0 }
	m.redis = &redisServer{free: []int64{0}, busy: []int64{0}} // no queueing, no service time
	up := m.ups.alloc()
	*m.ups.at(up) = upload{alive: true, file: 3}
	m.held[3] = -1 // held by another invocation
	v := m.invs.alloc()
	*m.invs.at(v) = invocation{up: up, phase: phLock}

	var want []int64
	at, wait := time.Duration(0), coordinator.LockRetryFirst
	for {
		want = append(want, int64(at))
		if at >= time.Duration(m.lockWaitMax) {
			break // this attempt fails the invocation
		}
		at += wait
		wait = coordinator.LockRetryNext(wait)
	}
	var got []int64
	now := int64(0)
	for range 10_000 {
		got = append(got, now)
		m.lock(now, v)
		if m.invs.at(v).phase == phFailed {
			break
		}
		e := m.q.pop()
		now = e.at
	}
	if m.invs.at(v).phase != phFailed {
		t.Fatal("the handler never gave up on a lock held for good")
	}
	if len(got) != len(want) {
		t.Fatalf("%d attempts, want %d (LockWait %s)", len(got), len(want), time.Duration(m.lockWaitMax))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("attempt %d at %s, want %s (the coordinator's back-off)", i, time.Duration(got[i]), time.Duration(want[i]))
		}
	}
}
