package model

import (
	"time"

	"github.com/stormsim/stormsim/coordinator"
)

// lock runs the lock script at now, as the coordinator's acquire does: a
// result already written makes the event a duplicate ("done"); a lock
// held by another invocation is busy, and the handler tries again after
// the coordinator's own back-off (coordinator.LockRetryFirst, then
// LockRetryNext) until LockWait has passed since its first try, then fails
// (LockBusyError) and the event is retried; otherwise the lock is taken
// and the decision is base == head.
func (m *machine) lock(now int64, v int32) {
	inv := m.invs.at(v)
	u := m.ups.at(inv.up)
	lat := m.lockCall.lat(m.rCalls)
	done := now + m.redis.wait(now, u.file, true) + m.cpu.call(now, lat, m.lockCall.cpu)
	if !inv.waiting {
		inv.waiting, inv.lockFirst, inv.lockWait = true, now, int64(coordinator.LockRetryFirst)
	}
	switch holder, busy := m.held[u.file]; {
	case u.written:
		inv.phase, inv.tail, inv.step = phTail, tailDone, 0
	case busy && holder != v:
		m.c.lockBusy++
		if done-inv.lockFirst >= m.lockWaitMax {
			inv.phase = phFailed
			m.q.push(done, evCall, v)
			return
		}
		m.q.push(done+inv.lockWait+m.cpu.late(), evCall, v)
		inv.lockWait = int64(coordinator.LockRetryNext(time.Duration(inv.lockWait)))
		return
	default:
		m.held[u.file], inv.holds = v, true
		inv.phase, inv.step = phTail, 0
		if head := m.files[u.file].head; u.base == head {
			inv.tail = tailCommit
		} else {
			inv.tail, u.head = tailConflict, head
		}
	}
	m.advance(v, done)
}

// end finishes an invocation at now: its slot goes back to the pool (on
// the queue kind, to the next waiting event), a failed one is retried as
// Lambda retries a failed asynchronous invocation.
func (m *machine) end(now int64, v int32) {
	inv := m.invs.at(v)
	u := m.ups.at(inv.up)
	p := m.poolOf(inv.file)
	m.c.handlerNs += now - inv.started
	switch inv.phase {
	case phFailed:
		m.c.failures++
		if int(inv.attempt) < m.retries {
			m.c.retries++
			d := m.retryDelays[min(int(inv.attempt), len(m.retryDelays)-1)]
			m.deliver(inv.up, now+d, inv.attempt+1)
		} else {
			m.c.dead++
			u.dead = true
		}
	case phTail:
		u.gone = true // the tail ends by deleting the staged object
	}
	up := inv.up
	m.invs.release(v)
	u.invs--
	m.free(up)
	if next, ok := p.release(now); ok {
		m.run(next, now+p.invoke(p.r))
	}
}

// onLearn: the device knows its outcome (or gave up) at now.
func (m *machine) onLearn(now int64, up int32) {
	u := m.ups.at(up)
	u.learned = true
	m.m.finished(u, u.outcome, now, u.decided, u.learn)
	switch u.outcome {
	case ocCommitted:
		m.files[u.file].learned = max(m.files[u.file].learned, u.version)
		m.dev.observe(u.staged, u.decided)
	case ocConflict:
		m.files[u.file].learned = max(m.files[u.file].learned, u.head)
		m.dev.observe(u.staged, u.decided)
	}
	if m.slotLast != nil && m.slotLast[u.slot] == up+1 {
		m.slotLast[u.slot] = 0
	}
	if w := u.waiter; w > 0 {
		a := *m.parked.at(w - 1)
		m.parked.release(w - 1)
		m.begin(a, now, now)
	}
	m.free(up)
}

// free releases an upload once its device is done and no invocation of
// it is left.
func (m *machine) free(up int32) {
	u := m.ups.at(up)
	if u.learned && u.invs == 0 {
		m.ups.release(up)
	}
}
