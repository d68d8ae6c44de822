package model

import (
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/stormsim/stormsim/sim/history"
	simmeasure "github.com/stormsim/stormsim/sim/measure"
)

// measure aggregates finished uploads into the figures a real run's
// recorder keeps (simmeasure.Snapshot), as histograms: no per-upload history.
// Histogram ranges and the poll buckets are the recorder's (sim/measure.go;
// the split of sim is to export the recorder so that both feed one).
type measure struct {
	latency   *hdrhistogram.Histogram
	phases    [4]*hdrhistogram.Histogram
	pollsHist *hdrhistogram.Histogram
	polls     [maxPollBucket + 1]int64
	pushOnly  int64
	outcomes  map[history.Outcome]int64
	errors    map[string]int64
	multipart int64
	bytes     int64
	series    []simmeasure.Second
	inflight  int64
	maxIn     int64
	v2plus    int64
	maxVer    int64
}

const maxPollBucket = 32

func newMeasure() *measure {
	m := &measure{latency: newHist(), pollsHist: hdrhistogram.New(0, 1_000_000, 3),
		outcomes: map[history.Outcome]int64{}, errors: map[string]int64{}}
	for i := range m.phases {
		m.phases[i] = newHist()
	}
	return m
}

func newHist() *hdrhistogram.Histogram {
	return hdrhistogram.New(1, int64(time.Hour/time.Microsecond), 3)
}

func us(ns int64) int64 { return max(ns/1000, 1) }

func (m *measure) second(ns int64) *simmeasure.Second {
	i := int(ns / int64(time.Second))
	for len(m.series) <= i {
		m.series = append(m.series, simmeasure.Second{InFlight: m.inflight})
	}
	return &m.series[i]
}

// started counts an upload that began at ns.
func (m *measure) started(ns int64) {
	m.inflight++
	m.maxIn = max(m.maxIn, m.inflight)
	s := m.second(ns)
	s.Started++
	s.InFlight = max(s.InFlight, m.inflight)
}

// finished counts an upload once its device knew the outcome (or gave
// up) at done; decided is the server's decision (0: none).
func (m *measure) finished(u *upload, oc outcome, done, decided int64, l learning) {
	outcome := outcomeNames[oc]
	m.inflight--
	m.second(u.intended).Planned++
	m.outcomes[outcome]++
	m.bytes += u.size
	if u.parts > 0 {
		m.multipart++
	}
	s := m.second(done)
	switch outcome {
	case history.OutcomeCommitted:
		s.Committed++
		if u.version >= 2 {
			m.v2plus++
		}
		m.maxVer = max(m.maxVer, int64(u.version))
	case history.OutcomeConflict:
		s.Conflict++
	default:
		s.Errors++
		m.errors["timeout"]++
		return
	}
	m.second(u.intended).Latency.Add(time.Duration(done - u.intended))
	_ = m.latency.RecordValue(us(done - u.intended))
	_ = m.phases[0].RecordValue(us(u.start - max(u.intended, u.ready)))
	_ = m.phases[1].RecordValue(us(u.staged - u.start))
	_ = m.phases[2].RecordValue(us(decided - u.staged))
	_ = m.phases[3].RecordValue(us(done - decided))
	m.polls[min(l.polls, maxPollBucket)]++
	_ = m.pollsHist.RecordValue(int64(l.polls))
	if l.polls == 0 && l.push {
		m.pushOnly++
	}
}

func (m *measure) snapshot() simmeasure.Snapshot {
	return simmeasure.Snapshot{Latency: m.latency, Phases: m.phases, Polls: append([]int64(nil), m.polls[:]...),
		PollsHist: m.pollsHist, PushOnly: m.pushOnly, Outcomes: m.outcomes, Errors: m.errors,
		Multipart: m.multipart, Bytes: m.bytes, Series: m.series, InFlight: m.inflight, MaxInFlight: m.maxIn,
		CommittedV2Plus: m.v2plus, MaxVersion: m.maxVer}
}
