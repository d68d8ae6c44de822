package model

import (
	"math"
	"math/rand/v2"
	"time"

	"github.com/stormsim/stormsim/scenarios"
	"github.com/stormsim/stormsim/sim/workload"
)

// pool is the handler pool. Kind "queue" is the harness's delivery: limit
// workers behind an unbounded FIFO. Kind "lambda" is AWS Lambda's
// asynchronous invocation: at most limit concurrent executions; an
// invocation reuses an idle execution environment (warm) or starts a new
// one (cold start), and a function may add at most ScalePer10s new
// environments per 10 seconds; beyond either limit the event is throttled
// and Lambda retries it later, backing off from ThrottleRetryMin to
// ThrottleRetryMax seconds.
type pool struct {
	lambda bool
	limit  int
	busy   int

	waiting ring // queue kind: invocations waiting for a worker

	// lambda kind
	idle       ring // idle-since times of idle environments, oldest first
	idleExpiry int64
	tokens     float64 // new environments the scaling rate allows now
	burst      float64 // tokens at most (ScalePer10s)
	perNs      float64 // tokens gained per nanosecond
	refilled   int64
	coldStart  func(*rand.Rand) int64
	throttleLo int64
	throttleHi int64

	invoke func(*rand.Rand) int64
	r      *rand.Rand

	// counters and the per-second plan chart
	coldStarts, throttles, invocations int64
	maxBusy                            int
	series                             []PoolSecond
}

// PoolSecond is one second of the handler pool: the most invocations
// running at once, the environments alive at the end of the second, and
// the throttles and cold starts in it.
type PoolSecond struct {
	Concurrency int64 `json:"concurrency"`
	Envs        int64 `json:"environments"`
	Throttles   int64 `json:"throttles"`
	ColdStarts  int64 `json:"cold_starts"`
	Waiting     int64 `json:"waiting"`
}

func newPool(p *Profile, workers int, r *rand.Rand) *pool {
	h := &p.Handler
	pl := &pool{lambda: h.Kind == "lambda", limit: workers, r: r, invoke: sampler(h.Invoke)}
	if pl.lambda {
		pl.limit = h.AccountConcurrency
		if h.ReservedConcurrency > 0 {
			pl.limit = min(pl.limit, h.ReservedConcurrency)
		}
		pl.burst = float64(h.ScalePer10s)
		pl.tokens = pl.burst
		pl.perNs = float64(h.ScalePer10s) / float64(10*time.Second)
		pl.idleExpiry = secondsNs(h.IdleExpiry)
		pl.coldStart = sampler(h.ColdStart)
		pl.throttleLo, pl.throttleHi = secondsNs(h.ThrottleRetryMin), secondsNs(h.ThrottleRetryMax)
	}
	return pl
}

// admit asks for an execution slot at now for inv. It returns when the
// invocation starts running its calls (after the invoke overhead and any
// cold start), or, with ok false: queued (queue kind; release hands it a
// worker later) or throttled (lambda kind; retryAt is when Lambda tries
// again).
func (p *pool) admit(now int64, inv int32, throttled int) (start int64, ok bool, retryAt int64) {
	s := p.second(now)
	if !p.lambda {
		if p.busy >= p.limit {
			p.waiting.push(int64(inv))
			s.Waiting = max(s.Waiting, int64(p.waiting.len()))
			return 0, false, 0
		}
		p.run(s)
		return now + p.invoke(p.r), true, 0
	}
	for p.idle.len() > 0 && now-p.idle.front() > p.idleExpiry {
		p.idle.popFront() // reclaimed by the platform
	}
	if p.busy < p.limit {
		if p.idle.len() > 0 {
			p.idle.popBack() // the most recently used environment
			p.run(s)
			return now + p.invoke(p.r), true, 0
		}
		p.refill(now)
		if p.tokens >= 1 {
			p.tokens--
			p.coldStarts++
			s.ColdStarts++
			p.run(s)
			return now + p.invoke(p.r) + p.coldStart(p.r), true, 0
		}
	}
	p.throttles++
	s.Throttles++
	wait := min(float64(p.throttleLo)*math.Pow(2, float64(throttled)), float64(p.throttleHi))
	// Jittered, as retry schedules are, so a throttled burst does not come
	// back as one wave.
	return 0, false, now + int64(wait*(0.5+0.5*p.r.Float64()))
}

func (p *pool) run(s *PoolSecond) {
	p.busy++
	p.invocations++
	p.maxBusy = max(p.maxBusy, p.busy)
	s.Concurrency = max(s.Concurrency, int64(p.busy))
}

// release ends an invocation at now. On the queue kind it returns the
// waiting invocation that takes the worker, if any.
func (p *pool) release(now int64) (next int32, ok bool) {
	p.busy--
	s := p.second(now)
	if p.lambda {
		p.idle.push(now)
		return 0, false
	}
	if p.waiting.len() > 0 {
		p.run(s)
		return int32(p.waiting.popFront()), true
	}
	return 0, false
}

func (p *pool) refill(now int64) {
	p.tokens = min(p.burst, p.tokens+float64(now-p.refilled)*p.perNs)
	p.refilled = now
}

// second returns the chart's second holding now, carrying the environment
// count forward.
func (p *pool) second(now int64) *PoolSecond {
	i := int(now / int64(time.Second))
	for len(p.series) <= i {
		p.series = append(p.series, PoolSecond{Concurrency: int64(p.busy)})
	}
	s := &p.series[i]
	s.Envs = int64(p.busy + p.idle.len())
	return s
}

// ring is a growable FIFO/deque of int64.
type ring struct {
	buf        []int64
	head, size int
}

func (q *ring) len() int { return q.size }

func (q *ring) push(v int64) {
	if q.size == len(q.buf) {
		nb := make([]int64, max(16, 2*len(q.buf)))
		for i := range q.size {
			nb[i] = q.buf[(q.head+i)%len(q.buf)]
		}
		q.buf, q.head = nb, 0
	}
	q.buf[(q.head+q.size)%len(q.buf)] = v
	q.size++
}

func (q *ring) front() int64 { return q.buf[q.head] }

func (q *ring) popFront() int64 {
	v := q.buf[q.head]
	q.head = (q.head + 1) % len(q.buf)
	q.size--
	return v
}

func (q *ring) popBack() int64 {
	q.size--
	return q.buf[(q.head+q.size)%len(q.buf)]
}

// sampler draws nanoseconds from a distribution in seconds (zero when
// the distribution is unset).
func sampler(d scenarios.Dist) func(*rand.Rand) int64 {
	if d.Kind == "" {
		return func(*rand.Rand) int64 { return 0 }
	}
	if d.Kind == "fixed" {
		v := secondsNs(d.Value)
		return func(*rand.Rand) int64 { return v }
	}
	return func(r *rand.Rand) int64 { return secondsNs(workload.Sample(d, r)) }
}

func secondsNs(s float64) int64 { return int64(math.Round(s * 1e9)) }
