package report

// The charts over the run's time: throughput, uploads in flight, conflict
// rate and memory.

import (
	"fmt"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// throughputPlot draws arrivals and outcomes per second over the run,
// against the planned arrivals per second.
func throughputPlot(r *Results) (*plot.Plot, error) {
	if len(r.Series) == 0 {
		return nil, errNoData
	}
	p := newPlot(timeTitle("Throughput over time", r), "time into the run (s)", "uploads per second")
	shadeFaults(p, r.Faults)
	fields := []struct {
		name string
		get  func(Sample) int64
	}{
		{"started", func(s Sample) int64 { return s.Started }},
		{"committed", func(s Sample) int64 { return s.Committed }},
		{"conflict", func(s Sample) int64 { return s.Conflict }},
		{"error", func(s Sample) int64 { return s.Errors }},
	}
	for i, f := range fields {
		xys := make(plotter.XYs, len(r.Series))
		for j, s := range r.Series {
			xys[j] = plotter.XY{X: s.Second, Y: float64(f.get(s))}
		}
		l, err := line(xys, i)
		if err != nil {
			return nil, err
		}
		p.Add(l)
		p.Legend.Add(f.name, l)
	}
	if err := plannedLine(p, r); err != nil {
		return nil, err
	}
	drawGates(p, gatesOn(r, "throughput.achieved_rate", "throughput.commits_per_second"), false, func(g chartGate) (float64, bool) {
		return g.Value, true
	})
	// The ratio is of the planned rate over the arrival window.
	drawGates(p, gatesOn(r, "throughput.achieved_ratio"), false, func(g chartGate) (float64, bool) {
		return g.Value * r.Throughput.PlannedRate, r.Throughput.PlannedRate > 0
	})
	p.Y.Min = 0
	headroom(p)
	return p, nil
}

// plannedLine draws the planned arrivals per second (plannedSeries).
func plannedLine(p *plot.Plot, r *Results) error {
	xys, name := plannedSeries(r)
	if len(xys) == 0 {
		return nil
	}
	l, err := line(xys, 6)
	if err != nil {
		return err
	}
	l.Dashes = []vg.Length{vg.Points(6), vg.Points(3)}
	l.Width = vg.Points(1)
	p.Add(l)
	p.Legend.Add(name, l)
	return nil
}

// plannedSeries is the planned arrivals per second: the schedule itself
// (a burst is a spike), or, for results without it, the planned rate
// averaged over the arrival window; nil when nothing was planned.
func plannedSeries(r *Results) (plotter.XYs, string) {
	var xys plotter.XYs
	var planned int64
	for _, s := range r.Series {
		xys = append(xys, plotter.XY{X: s.Second, Y: float64(s.Planned)})
		planned += s.Planned
	}
	if planned > 0 {
		return xys, "planned (per second)"
	}
	rate := r.Throughput.PlannedRate
	if rate <= 0 || len(r.Series) == 0 {
		return nil, ""
	}
	first, last := r.Series[0].Second, r.Series[len(r.Series)-1].Second
	return plotter.XYs{{X: first, Y: rate}, {X: last, Y: rate}}, fmt.Sprintf("planned: %s/s on average", num(round2(rate)))
}

// timeTitle mentions the shading only when the run injected faults.
func timeTitle(title string, r *Results) string {
	if len(r.Faults) > 0 {
		return title + " (shaded: injected faults)"
	}
	return title
}

// inFlightPlot draws uploads in flight (started, outcome not yet known).
func inFlightPlot(r *Results) (*plot.Plot, error) {
	if len(r.Series) == 0 {
		return nil, errNoData
	}
	p := newPlot(timeTitle("Uploads in flight over time", r), "time into the run (s)", "uploads in flight")
	shadeFaults(p, r.Faults)
	xys := make(plotter.XYs, len(r.Series))
	for i, s := range r.Series {
		xys[i] = plotter.XY{X: s.Second, Y: float64(s.InFlight)}
	}
	l, err := line(xys, 0)
	if err != nil {
		return nil, err
	}
	p.Add(l)
	p.Legend.Add("in flight", l)
	p.Y.Min = 0
	headroom(p)
	return p, nil
}

// conflictPlot draws the share of decided uploads that lost, per second.
func conflictPlot(r *Results) (*plot.Plot, error) {
	var xys plotter.XYs
	for _, s := range r.Series {
		if d := s.Committed + s.Conflict; d > 0 {
			xys = append(xys, plotter.XY{X: s.Second, Y: 100 * float64(s.Conflict) / float64(d)})
		}
	}
	if len(xys) == 0 {
		return nil, errNoData
	}
	p := newPlot(timeTitle("Conflict rate over time", r), "time into the run (s)", "conflicts (% of decided uploads)")
	shadeFaults(p, r.Faults)
	l, err := line(xys, 1)
	if err != nil {
		return nil, err
	}
	p.Add(l)
	p.Legend.Add(fmt.Sprintf("conflict rate (run: %s)", percent(conflictRate(r.Uploads))), l)
	drawGates(p, gatesOn(r, "uploads.conflict_rate"), false, func(g chartGate) (float64, bool) {
		return 100 * g.Value, true
	})
	// The whole run, as on the other time charts, though only seconds
	// with decided uploads have a rate: fault windows line up.
	p.X.Min, p.X.Max = 0, math.Max(p.X.Max, r.Series[len(r.Series)-1].Second)
	p.Y.Min = 0
	p.Y.Max = math.Max(p.Y.Max, 1)
	headroom(p)
	return p, nil
}

// minMemorySamples is the fewest memory samples the chart draws without
// saying why there are so few.
const minMemorySamples = 10

// memoryPlot draws the live heap split between the harness and the
// embedded fakes, and the resident set, over the run.
func memoryPlot(r *Results) (*plot.Plot, error) {
	if len(r.Memory) < 2 {
		return nil, errNoData
	}
	title := "Memory: resident set and live heap (harness vs embedded fakes)"
	xLabel := "time into the run (s)"
	if n := len(r.Memory); n < minMemorySamples {
		// Each sample follows a forced full GC, spaced so that sampling
		// stays under about 4% of the run (sim/memory.go): a large heap
		// or a short run leaves few.
		xLabel = fmt.Sprintf("time into the run (s); only %d samples: each follows a full GC, spaced to keep sampling under ~4%% of the run", n)
	}
	p := newPlot(title, xLabel, "MiB")
	series := []struct {
		name string
		get  func(MemorySample) int64
	}{
		{"resident set", func(m MemorySample) int64 { return m.RSSBytes }},
		{"live heap: harness", func(m MemorySample) int64 { return m.HeapHarnessBytes }},
		{"live heap: embedded fakes", func(m MemorySample) int64 { return m.HeapFakesBytes }},
	}
	for i, sr := range series {
		xys := make(plotter.XYs, len(r.Memory))
		for j, m := range r.Memory {
			xys[j] = plotter.XY{X: m.Second, Y: float64(sr.get(m)) / (1 << 20)}
		}
		l, err := line(xys, i)
		if err != nil {
			return nil, err
		}
		// A mark on each sample shows where the line is measured and where
		// it only joins two samples.
		pts, err := plotter.NewScatter(xys)
		if err != nil {
			return nil, err
		}
		pts.GlyphStyle = draw.GlyphStyle{Color: l.Color, Radius: vg.Points(2.5), Shape: draw.CircleGlyph{}}
		p.Add(l, pts)
		p.Legend.Add(sr.name, l, pts)
	}
	p.X.Min, p.Y.Min = 0, 0
	headroom(p)
	return p, nil
}
