package workload

import (
	"math"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/stormsim/stormsim/scenarios"
)

// Arrival is one planned upload.
type Arrival struct {
	Seq int64
	// At is the planned instant as an offset from the start (open model);
	// for the closed model it is the think time to wait before starting.
	At     time.Duration
	Phase  string
	User   int
	Device int // device index within the user
	File   int // file index within the user; 0..HotFiles-1 are hot
	Hot    bool
	// Stale is how many versions behind the head the device's base is
	// (0 = up to date).
	Stale       int
	Size        int64
	ContentSeed uint64
	// Follow marks a follow-on edit (Phase.Follow): File is the file this
	// device last uploaded, and the device edits it from the head it
	// learned, after that upload's outcome (Stale is then 0).
	Follow bool
}

// Plan is the planned workload of one scenario and seed. Next (open
// model) streams arrivals in time order holding O(1) memory; NextFor
// (closed model) gives each device its next upload.
type Plan struct {
	sc      *scenarios.Scenario
	seed    uint64
	streams *Streams
	sched   *schedule

	rUsers, rDevices, rPaths, rStale, rSizes, rContent *rand.Rand
	seq                                                int64

	closed []deviceState // closed model, one per device

	// follow: each device's last planned file (-1: none yet), kept only
	// when a phase has follow-on edits; rFollow draws which uploads follow.
	last    []int32
	rFollow *rand.Rand

	statsOnce sync.Once
	count     int64
	window    time.Duration
}

// NewPlan plans sc with seed (the caller passes sc.Seed unless a flag
// overrides it). sc should be validated; NewPlan does not modify it.
func NewPlan(sc *scenarios.Scenario, seed uint64) *Plan {
	st := NewStreams(seed)
	p := &Plan{
		sc:       sc,
		seed:     seed,
		streams:  st,
		sched:    newSchedule(sc, st.New(StreamArrivals)),
		rUsers:   st.New(StreamUsers),
		rDevices: st.New(StreamDevices),
		rPaths:   st.New(StreamPaths),
		rStale:   st.New(StreamStaleness),
		rSizes:   st.New(StreamSizes),
		rContent: st.New(StreamContent),
	}
	if sc.Model == "closed" {
		p.closed = make([]deviceState, max(sc.Closed.Devices, 0))
	}
	if HasFollow(sc) {
		p.last = make([]int32, max(sc.Population.Users, 1)*max(sc.Population.DevicesPerUser, 1))
		for i := range p.last {
			p.last[i] = -1
		}
		p.rFollow = st.New(StreamFollow)
	}
	return p
}

// HasFollow reports whether an open-model scenario has follow-on edits
// (a phase with follow > 0).
func HasFollow(sc *scenarios.Scenario) bool {
	if sc.Model == "closed" {
		return false
	}
	for _, ph := range sc.Phases {
		if ph.Follow > 0 {
			return true
		}
	}
	return false
}

// DeviceSlot numbers a user's device across the population: user *
// devices_per_user + device.
func DeviceSlot(pop *scenarios.Population, user, device int) int {
	return user*max(pop.DevicesPerUser, 1) + device
}

// follow turns a into a follow-on edit of the file its device last
// uploaded, with probability follow. The other draws were made as usual,
// so a scenario without follow-on edits plans exactly what it did before.
func (p *Plan) follow(a *Arrival, follow float64) {
	if p.last == nil {
		return
	}
	pop := &p.sc.Population
	slot := DeviceSlot(pop, a.User, a.Device)
	if prev := p.last[slot]; follow > 0 && prev >= 0 && p.rFollow.Float64() < follow {
		a.File, a.Hot, a.Stale, a.Follow = int(prev), int(prev) < min(max(pop.HotFiles, 0), max(pop.FilesPerUser, 1)), 0, true
	}
	p.last[slot] = int32(a.File)
}

// Seed returns the root seed of the plan.
func (p *Plan) Seed() uint64 { return p.seed }

// Streams returns the plan's seed streams, for the other consumers of
// randomness (faults, delivery, push) to take their own named streams.
func (p *Plan) Streams() *Streams { return p.streams }

// Next returns the next planned arrival of the open model in time order
// (ties keep Seq order), and false when the plan is exhausted. It is not
// safe for concurrent use. A closed-model plan has no arrivals: use
// NextFor.
func (p *Plan) Next() (Arrival, bool) {
	if p.sc.Model == "closed" {
		return Arrival{}, false
	}
	at, pi, ok := p.sched.next()
	if !ok {
		return Arrival{}, false
	}
	pop := &p.sc.Population
	a := Arrival{
		Seq:    p.seq,
		At:     at,
		Phase:  p.sc.Phases[pi].Name,
		User:   p.rUsers.IntN(max(pop.Users, 1)),
		Device: p.rDevices.IntN(max(pop.DevicesPerUser, 1)),
	}
	p.seq++
	a.File, a.Hot = pickFile(pop, p.rPaths)
	a.Stale = pickStale(pop, p.rStale)
	a.Size = sizeOf(p.sc.Sizes.Dist, p.rSizes)
	a.ContentSeed = p.rContent.Uint64()
	p.follow(&a, p.sc.Phases[pi].Follow)
	return a, true
}

// pickFile: with probability HotShare one of the hot files, else uniform
// over the others (over all files when every file is hot).
func pickFile(pop *scenarios.Population, r *rand.Rand) (int, bool) {
	files := max(pop.FilesPerUser, 1)
	hot := min(max(pop.HotFiles, 0), files)
	if hot > 0 && r.Float64() < pop.HotShare {
		return r.IntN(hot), true
	}
	if rest := files - hot; rest > 0 {
		return hot + r.IntN(rest), false
	}
	return r.IntN(files), hot > 0
}

// pickStale: with probability StaleShare, uniform in 1..MaxStaleness.
func pickStale(pop *scenarios.Population, r *rand.Rand) int {
	if pop.StaleShare > 0 && pop.MaxStaleness > 0 && r.Float64() < pop.StaleShare {
		return 1 + r.IntN(pop.MaxStaleness)
	}
	return 0
}

// maxSize keeps a size sane even for an unvalidated distribution (5 TiB,
// the S3 object limit).
const maxSize = 5 << 40

func sizeOf(d scenarios.Dist, r *rand.Rand) int64 {
	return int64(math.Min(math.Floor(Sample(d, r)), maxSize))
}

// stats counts the planned arrivals and the arrival window by replaying
// the timing alone (cheap: no per-arrival draws besides Poisson gaps).
func (p *Plan) stats() {
	p.statsOnce.Do(func() {
		if p.sc.Model == "closed" {
			return
		}
		s := newSchedule(p.sc, p.streams.New(StreamArrivals))
		for {
			at, _, ok := s.next()
			if !ok {
				break
			}
			p.count++
			p.window = at
		}
		// The window runs to the end of the phases or the duration cap, not
		// just to the last arrival: 10/s for 1s plans 10 arrivals over 1s.
		switch s.end {
		case endPhases:
			p.window = s.start
			if p.sc.Duration > 0 {
				p.window = min(p.window, p.sc.Duration)
			}
		case endWindow:
			p.window = p.sc.Duration
		case endUploads:
			if ph := p.sc.Phases[s.pi]; (ph.Kind == "constant" || ph.Kind == "poisson") && ph.Rate > 0 {
				p.window += seconds(1 / ph.Rate) // the last arrival's slot
			}
		}
	})
}

// PlannedCount returns how many uploads the plan holds. For the closed
// model it is known only when iterations or an upload cap bound it.
func (p *Plan) PlannedCount() (int64, bool) {
	if p.sc.Model == "closed" {
		c := p.sc.Closed
		if c.Iterations > 0 {
			n := int64(c.Devices) * int64(c.Iterations)
			if p.sc.Uploads > 0 {
				n = min(n, p.sc.Uploads)
			}
			return n, true
		}
		if p.sc.Uploads > 0 {
			return p.sc.Uploads, true
		}
		return 0, false
	}
	p.stats()
	return p.count, true
}

// PlannedWindow returns the length of the arrival window: from the start
// to the end of the last phase (or the duration cap). Zero for a plan that
// is a single instantaneous burst, and for the closed model.
func (p *Plan) PlannedWindow() time.Duration {
	p.stats()
	return p.window
}

// PlannedRate returns the mean planned arrivals per second over the
// arrival window, or 0 when the window is empty (a lone burst at 0) or
// the model is closed (its rate is whatever the system sustains).
func (p *Plan) PlannedRate() float64 {
	p.stats()
	if p.window <= 0 {
		return 0
	}
	return float64(p.count) / p.window.Seconds()
}
