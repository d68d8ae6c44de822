package workload

import (
	"math"
	"math/rand/v2"
	"time"

	"github.com/stormsim/stormsim/scenarios"
)

// schedule yields the planned arrival instants of an open model, phase by
// phase, in O(1) memory. Only the Poisson phases draw random numbers, from
// the arrivals stream alone, so the timing does not depend on any other
// stream.
type schedule struct {
	phases     []scenarios.Phase
	window     time.Duration // scenario duration cap (0 = none)
	maxUploads int64         // scenario upload cap (0 = none)
	r          *rand.Rand

	pi    int           // current phase
	start time.Duration // current phase's start offset
	i     int64         // arrivals emitted in the current phase
	t     float64       // Poisson: seconds into the phase of the last arrival
	n     int64         // arrivals emitted in all
	done  bool
	end   endReason
}

type endReason int

const (
	endNone    endReason = iota
	endPhases            // every phase ran out
	endWindow            // the scenario's duration cap
	endUploads           // the scenario's upload cap
)

func newSchedule(sc *scenarios.Scenario, r *rand.Rand) *schedule {
	return &schedule{phases: sc.Phases, window: sc.Duration, maxUploads: sc.Uploads, r: r}
}

// next returns the next arrival's offset from the start and its phase.
func (s *schedule) next() (time.Duration, int, bool) {
	for !s.done && s.pi < len(s.phases) {
		ph := &s.phases[s.pi]
		off, ok := s.phaseNext(ph)
		if !ok {
			s.start += s.phaseLength(ph)
			s.pi, s.i, s.t = s.pi+1, 0, 0
			continue
		}
		at := s.start + off
		if s.window > 0 && at >= s.window {
			s.end = endWindow
			break
		}
		if s.maxUploads > 0 && s.n >= s.maxUploads {
			s.end = endUploads
			break
		}
		s.i++
		s.n++
		return at, s.pi, true
	}
	if s.end == endNone {
		s.end = endPhases
	}
	s.done = true
	return 0, 0, false
}

// phaseNext returns the offset inside phase ph of its next arrival.
func (s *schedule) phaseNext(ph *scenarios.Phase) (time.Duration, bool) {
	if ph.Count > 0 && s.i >= ph.Count {
		return 0, false
	}
	var sec float64
	switch ph.Kind {
	case "constant":
		if ph.Rate <= 0 {
			return 0, false
		}
		sec = float64(s.i) / ph.Rate
	case "ramp":
		var ok bool
		if sec, ok = rampAt(ph.From, ph.To, ph.Duration.Seconds(), float64(s.i)); !ok {
			return 0, false
		}
	case "burst":
		return ph.At, true
	case "poisson":
		if ph.Rate <= 0 {
			return 0, false
		}
		s.t += s.r.ExpFloat64() / ph.Rate
		sec = s.t
	default:
		return 0, false
	}
	off := seconds(sec)
	if ph.Duration > 0 && off >= ph.Duration {
		return 0, false
	}
	return off, true
}

// phaseLength is how long phase ph lasted, once it has ended.
func (s *schedule) phaseLength(ph *scenarios.Phase) time.Duration {
	switch {
	case ph.Kind == "burst":
		return max(ph.Duration, ph.At)
	case ph.Duration > 0:
		return ph.Duration
	case ph.Kind == "constant" && ph.Rate > 0:
		return seconds(float64(ph.Count) / ph.Rate)
	case ph.Kind == "poisson":
		return seconds(s.t)
	}
	return 0
}

// rampAt returns when arrival i happens in a ramp from rate a to rate b
// over d seconds: the t with N(t) = i, where N(t) = a*t + (b-a)*t²/(2d)
// is the expected count so far. The root is written as 2i/(a+√(a²+4ki))
// so it stays exact when a = 0 and when the ramp goes down.
func rampAt(a, b, d, i float64) (float64, bool) {
	if i == 0 {
		return 0, true
	}
	k := (b - a) / (2 * d)
	disc := a*a + 4*k*i
	if disc < 0 || d <= 0 {
		return 0, false // a downward ramp that has run out
	}
	den := a + math.Sqrt(disc)
	if den <= 0 {
		return 0, false
	}
	return 2 * i / den, true
}

// seconds converts to a Duration, saturating instead of overflowing.
func seconds(sec float64) time.Duration {
	ns := math.Round(sec * 1e9)
	if ns >= math.MaxInt64 || math.IsNaN(ns) {
		return math.MaxInt64
	}
	return time.Duration(ns)
}
