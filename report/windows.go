package report

import (
	"math"

	"github.com/stormsim/stormsim/sim/measure"
)

// addFaultWindows fills Results.Faults from the run's fault windows and the
// per-second series: throughput, errors and latency before, during and after
// each window. It also adds each second's latency to the series.
func addFaultWindows(r *Results, m measure.Snapshot) {
	for i := range r.Series {
		if i >= len(m.Series) {
			break
		}
		l := &m.Series[i].Latency
		if l.Count() > 0 {
			r.Series[i].LatencyMean = l.Mean().Seconds()
			r.Series[i].LatencyP99 = l.Quantile(0.99).Seconds()
		}
	}
	r.Reconciled = m.Reconciled
	n := len(m.Series)
	for _, f := range m.Faults {
		w := FaultWindow{Kind: f.Kind, From: f.From.Seconds(), To: f.To.Seconds(), Detail: f.Detail, Injected: f.Injected}
		// Windows switch on a few milliseconds after their instant: round
		// to whole seconds with a little slack.
		lo := int(math.Floor(w.From + 0.1))
		hi := max(int(math.Ceil(w.To-0.1)), lo+1)
		width := hi - lo
		w.During = windowStats(m.Series, lo, min(hi, n))
		if lo > 0 {
			w.Before = windowStats(m.Series, max(lo-width, 0), lo)
		}
		if hi < n {
			w.After = windowStats(m.Series, hi, min(hi+width, n))
		}
		r.Faults = append(r.Faults, w)
	}
}

// windowStats sums the seconds [lo, hi) of the series; nil when empty.
func windowStats(series []measure.Second, lo, hi int) *WindowStats {
	if lo >= hi || lo >= len(series) {
		return nil
	}
	s := &WindowStats{From: float64(lo), To: float64(hi)}
	var lat measure.LatencyBuckets
	for _, sec := range series[lo:hi] {
		s.Started += sec.Started
		s.Committed += sec.Committed
		s.Conflict += sec.Conflict
		s.Errors += sec.Errors
		lat.Merge(&sec.Latency)
	}
	secs := float64(hi - lo)
	ended := s.Committed + s.Conflict + s.Errors
	s.UploadsPerSecond = float64(ended) / secs
	s.CommitsPerSecond = float64(s.Committed) / secs
	if ended > 0 {
		s.ErrorRate = float64(s.Errors) / float64(ended)
	}
	s.LatencyCount = lat.Count()
	s.LatencyMean = lat.Mean().Seconds()
	s.LatencyP50 = lat.Quantile(0.5).Seconds()
	s.LatencyP99 = lat.Quantile(0.99).Seconds()
	s.LatencyMax = lat.Max.Seconds()
	return s
}
