package model

import (
	"math"
	"math/rand/v2"
	"time"

	"github.com/stormsim/stormsim/scenarios"
	"github.com/stormsim/stormsim/sim/history"
	"github.com/stormsim/stormsim/sim/workload"
)

// outcome is an upload's outcome as its device learns it (a small
// integer, so the upload slab holds no pointer for the GC to scan).
type outcome uint8

const (
	ocNone outcome = iota
	ocCommitted
	ocConflict
	ocUnknown
)

var outcomeNames = [...]history.Outcome{ocNone: history.OutcomeUnknown, ocCommitted: history.OutcomeCommitted,
	ocConflict: history.OutcomeConflict, ocUnknown: history.OutcomeUnknown}

// upload is one upload in flight (freed once its device learned the
// outcome and no invocation of it is left).
type upload struct {
	intended, ready, start, staged int64
	decided, visible               int64
	size                           int64
	firstPoll                      int64 // staged -> the first poll
	file, slot                     int32
	waiter                         int32 // a parked follow-on edit + 1 (0: none)
	base, version, head            int32
	invs                           int16 // invocations not finished
	parts                          int16
	outcome                        outcome
	alive, written, learned, gone  bool
	dead                           bool
	at, home                       uint8 // regions: the device's region and its user's home
	replicated                     bool  // regions: the version's replication event is out
	learn                          learning
}

// Invocation phases: the calls before the lock, the lock script, the
// calls after it (by outcome), and a duplicate that found nothing staged.
const (
	phPrefix uint8 = iota
	phLock
	phTail
	phGone
	phFailed
)

// Tails by outcome, as indexes of machine.tails.
const (
	tailCommit uint8 = iota
	tailConflict
	tailDone
)

// invocation is one handler invocation of one S3 event.
type invocation struct {
	up, file            int32 // the upload and its file (read without the upload)
	attempt, throttled  int8
	phase, tail         uint8
	step                int16
	holds, waiting      bool
	lockFirst, lockWait int64
	started             int64
}

// file is one file's state: the server's head and the devices' view of
// it, side by side (one cache line for an upload's reads of both).
type file struct{ head, learned int32 }

// machine is the model's state: the event queue and every component.
type machine struct {
	sc       *scenarios.Scenario
	q        eventQueue
	ups      slab[upload]
	invs     slab[invocation]
	parked   slab[workload.Arrival]
	pool     *pool
	pools    []*pool // regions: one per region (pools[0] is pool)
	redis    *redisServer
	reg      *regional  // a multi-region plan's regions (nil: one region)
	cpu      *cpuServer // nil: the setup's CPU is not modelled (cpu.go)
	dev      *devices
	prefix   []callSpec
	tails    [3][]callSpec
	gone     []callSpec
	lockCall callSpec
	profile  *Profile

	files    []file  // per file
	slotLast []int32 // per device: its latest upload + 1 (follow-on edits)
	held     map[int32]int32

	lockWaitMax          int64
	retries              int
	retryDelays          []int64
	rCalls, rDeliv, rMix *rand.Rand
	delay, platform      func(*rand.Rand) int64
	m                    *measure
	c                    counters
}

type counters struct {
	emitted, duplicated, reordered, failures, retries, dead int64
	lockBusy, decidedLate                                   int64
	handlerNs                                               int64
	s3                                                      [opCount]int64
	redis                                                   int64
	launched                                                int64
}

// arrive handles a planned arrival at its instant.
func (m *machine) arrive(a workload.Arrival) {
	m.c.launched++
	if a.Follow && m.slotLast != nil {
		slot := workload.DeviceSlot(&m.sc.Population, a.User, a.Device)
		if prev := m.slotLast[slot]; prev > 0 {
			p := m.parked.alloc()
			*m.parked.at(p) = a
			m.ups.at(prev - 1).waiter = p + 1
			return
		}
	}
	m.begin(a, int64(a.At), 0)
}

// begin starts a device's upload at now.
func (m *machine) begin(a workload.Arrival, now, ready int64) {
	pop := &m.sc.Population
	i := m.ups.alloc()
	u := m.ups.at(i)
	*u = upload{intended: int64(a.At), ready: ready, start: now, size: a.Size, alive: true,
		file: int32(a.User*max(pop.FilesPerUser, 1) + a.File)}
	u.base = max(m.files[u.file].learned-int32(a.Stale), 0)
	var cross int64
	if m.reg != nil {
		// the device reads its own region's copy first: its base
		now, cross = m.reg.arrive(m, u, a, now)
		u.start = now
	}
	t, parts := m.dev.staging(a.Size)
	t += cross
	u.firstPoll = m.dev.firstPoll(a.Size)
	// On one machine the device starts when its timer fires and a core
	// is free for its PUT (0 and 0 otherwise).
	u.start = now + m.cpu.late()
	u.staged, u.parts = u.start+m.cpu.call(now, t, m.cpu.cost(t)), int16(parts)
	m.m.started(now)
	if parts > 0 {
		m.c.s3[opCreateMultipart]++
		m.c.s3[opUploadPart] += int64(parts)
		m.c.s3[opCompleteMultipart]++
	} else {
		m.c.s3[opPut]++
	}
	if m.slotLast != nil {
		u.slot = int32(workload.DeviceSlot(pop, a.User, a.Device))
		m.slotLast[u.slot] = i + 1
	}
	copies := 1
	if d := m.sc.Delivery.Duplicate; d > 0 && m.rDeliv.Float64() < d {
		copies = 2
		m.c.duplicated++
	}
	for range copies {
		d := m.delay(m.rDeliv) + m.platform(m.rDeliv)
		if d > 0 {
			d += m.cpu.late() // the harness's delivery sleeps out the delay
		}
		if r := m.sc.Delivery.Reorder; r > 0 && m.rDeliv.Float64() < r {
			d += m.rDeliv.Int64N(int64(200 * time.Millisecond)) // held back, as the harness's delivery does
			m.c.reordered++
		}
		m.c.emitted++
		m.deliver(i, u.staged+d, 0)
	}
}

func (m *machine) deliver(up int32, at int64, attempt int8) {
	v := m.invs.alloc()
	*m.invs.at(v) = invocation{up: up, file: m.ups.at(up).file, attempt: attempt}
	m.ups.at(up).invs++
	m.q.push(at, evDeliver, v)
}

// onDeliver asks the pool for a slot.
func (m *machine) onDeliver(now int64, v int32) {
	inv := m.invs.at(v)
	start, ok, retryAt := m.poolOf(inv.file).admit(now, v, int(inv.throttled))
	switch {
	case ok:
		m.run(v, start)
	case retryAt > 0:
		inv.throttled = min(inv.throttled+1, 30)
		m.q.push(retryAt, evDeliver, v)
	}
}

// run starts an invocation's calls at t.
func (m *machine) run(v int32, t int64) {
	inv := m.invs.at(v)
	inv.started = t
	if m.ups.at(inv.up).gone {
		inv.phase = phGone
	}
	m.advance(v, t)
}

func (m *machine) calls(inv *invocation) []callSpec {
	switch inv.phase {
	case phPrefix:
		return m.prefix
	case phTail:
		return m.tails[inv.tail]
	case phGone:
		return m.gone
	}
	return nil
}

// advance runs the S3 calls from the invocation's step on (they share no
// modelled resource) and schedules its next Redis call, the lock, or its
// end. With the CPU modelled each S3 call is an event of its own instead,
// booked on the cores when it is made.
func (m *machine) advance(v int32, t int64) {
	inv := m.invs.at(v)
	list := m.calls(inv)
	for m.cpu == nil && int(inv.step) < len(list) && !list[inv.step].redis {
		t += m.s3Call(&list[inv.step], inv.up)
		if m.reg != nil && inv.tail == tailCommit && inv.phase == phTail && list[inv.step].op == opCopy {
			m.reg.versionKept(m, t, inv.up) // the first copy after the commit is the version key
		}
		inv.step++
	}
	m.q.push(t, evCall, v)
}

// onCall issues the invocation's next Redis call at now, or takes the
// lock, or ends it.
func (m *machine) onCall(now int64, v int32) {
	inv := m.invs.at(v)
	list := m.calls(inv)
	switch {
	case inv.phase == phPrefix && int(inv.step) == len(list):
		inv.phase, inv.step = phLock, 0
		m.lock(now, v)
	case inv.phase == phLock:
		m.lock(now, v)
	case int(inv.step) >= len(list):
		m.end(now, v)
	case !list[inv.step].redis: // only with the CPU modelled (advance)
		c := &list[inv.step]
		lat := m.s3Call(c, inv.up)
		inv.step++
		m.advance(v, now+m.cpu.call(now, lat, c.cpu+m.cpu.cost(m.transfer(c, inv.up))))
	default:
		done := m.redisCall(now, inv, &list[inv.step])
		inv.step++
		m.advance(v, done)
	}
}

// redisCall books call c at now and applies what it does; it returns
// when the handler has the answer.
func (m *machine) redisCall(now int64, inv *invocation, c *callSpec) int64 {
	lat := c.lat(m.rCalls)
	done := now + m.redis.wait(now, inv.file, c.script) + m.cpu.call(now, lat, c.cpu)
	switch c.op {
	case opCommit:
		u := m.ups.at(inv.up)
		// The commit re-checks the base under the lock: base == head.
		m.files[u.file].head++
		u.version, u.decided, u.outcome = m.files[u.file].head, now, ocCommitted
		if m.reg != nil {
			m.reg.committed(now, u)
		}
	case opResult:
		u := m.ups.at(inv.up)
		if !u.written {
			u.written = true
			if u.outcome != ocCommitted {
				u.outcome, u.decided = ocConflict, now
			}
			m.decide(now, inv.up, done)
		}
		m.unlock(inv, inv.file)
	case opRelease:
		m.unlock(inv, inv.file)
	}
	return done
}

func (m *machine) unlock(inv *invocation, file int32) {
	if inv.holds {
		delete(m.held, file)
		inv.holds = false
	}
}

// decide: the result is readable at visible; the device's wait is played
// out from its staging on.
func (m *machine) decide(now int64, up int32, visible int64) {
	u := m.ups.at(up)
	u.visible = visible
	var rtt int64
	if m.reg != nil {
		rtt = 2 * m.reg.lat[u.at][u.home]
	}
	l := m.dev.learn(u.staged, u.firstPoll, visible, rtt)
	m.c.redis += int64(l.polls) // each poll reads the result from Redis
	if l.gaveUp {
		m.c.decidedLate++
		u.outcome = ocUnknown
	}
	u.learn = l
	m.q.push(max(l.at, now), evLearn, up)
}

func (m *machine) s3Call(c *callSpec, up int32) int64 {
	t := c.lat(m.rCalls)
	m.c.s3[c.op]++
	return t + m.transfer(c, up)
}

// transfer is the time a GET or COPY of the upload's bytes takes beyond
// the call itself.
func (m *machine) transfer(c *callSpec, up int32) int64 {
	p := m.profile
	switch c.op {
	case opGet:
		if p.S3ReadBytesPerSecond > 0 {
			return int64(float64(m.ups.at(up).size) / p.S3ReadBytesPerSecond * 1e9)
		}
	case opCopy:
		if p.S3CopyBytesPerSecond > 0 {
			return int64(float64(m.ups.at(up).size) / p.S3CopyBytesPerSecond * 1e9)
		}
	}
	return 0
}

// poolOf is the handler pool deciding file: its home region's.
func (m *machine) poolOf(file int32) *pool {
	if m.reg == nil {
		return m.pool
	}
	return m.pools[m.reg.fileHome[file]]
}

// never is a visible time that never comes.
const never = math.MaxInt64
