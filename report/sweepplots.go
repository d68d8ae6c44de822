package report

import (
	"errors"
	"fmt"
	"image/color"
	"math"
	"sort"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// sweepCharts lists the sweep's charts in display order.
var sweepCharts = []struct {
	name, caption string
	build         func(s *Sweep) (*plot.Plot, error)
}{
	{"sweep-throughput", "Achieved throughput and commits per second against the offered load; the dashed line is what was offered.", sweepThroughput},
	{"sweep-latency", "Median and 99th-percentile latency (planned instant to outcome known) per point, log scale.", sweepLatency},
	{"sweep-polls", "Mean result polls per upload per point.", sweepPolls},
	{"sweep-conflicts", "Share of decided uploads that lost a conflict, per point.", sweepConflicts},
	{"sweep-cost", "Estimated pay-as-you-go cost per 1,000 uploads, per point.", sweepCost},
}

// SweepCharts renders the sweep's charts (PNG and SVG); charts without
// data are left out.
func SweepCharts(s *Sweep) ([]Chart, error) {
	var out []Chart
	for _, c := range sweepCharts {
		p, err := c.build(s)
		if errors.Is(err, errNoData) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("plot %s: %w", c.name, err)
		}
		pngData, svgData, err := render(p)
		if err != nil {
			return nil, fmt.Errorf("plot %s: %w", c.name, err)
		}
		out = append(out, Chart{Name: c.name, Title: p.Title.Text, PNG: pngData, SVG: svgData})
	}
	return out, nil
}

// sweepSeries is one line of a sweep chart.
type sweepSeries struct {
	name   string
	y      func(SweepPoint) (float64, bool)
	dashed bool
	// metric names the series' gate metric: a repeated point's interval
	// of it is drawn as an error bar, through tf (the series' scale; nil
	// is the identity).
	metric string
	tf     func(float64) float64
}

// sweepPlot draws series against the X axis, marks each point's verdict
// on the first series and the knee with a vertical line. Dashed series
// (the offered load) are drawn over the solid ones, and the verdict marks
// over everything: when the achieved rate equals the offered one, the
// offered line must still show, and a failed point must never hide.
func sweepPlot(s *Sweep, title, yLabel string, zeroY bool, series []sweepSeries) (*plot.Plot, error) {
	pts := s.ran()
	sort.Slice(pts, func(i, j int) bool { return s.x(pts[i]) < s.x(pts[j]) })
	p := newPlot(title, s.xLabel(), yLabel)
	added := 0
	marks := map[string]plotter.XYs{}
	hasDashed := false
	for _, ser := range series {
		hasDashed = hasDashed || ser.dashed
	}
	for _, dashed := range []bool{false, true} {
		for i, ser := range series {
			if ser.dashed != dashed {
				continue
			}
			var xys plotter.XYs
			for _, pt := range pts {
				y, ok := ser.y(pt)
				if !ok || math.IsNaN(y) || math.IsInf(y, 0) {
					continue
				}
				xys = append(xys, plotter.XY{X: s.x(pt), Y: y})
				if i == 0 {
					marks[pt.Verdict] = append(marks[pt.Verdict], plotter.XY{X: s.x(pt), Y: y})
				}
			}
			if len(xys) == 0 {
				continue
			}
			l, err := line(xys, i)
			if err != nil {
				return nil, err
			}
			if !ser.dashed && hasDashed {
				// Wide enough that a dashed line on top leaves it visible.
				l.Width = vg.Points(3)
			} else if ser.dashed {
				l.Color = color.Black
				l.Width = vg.Points(1.5)
				l.Dashes = []vg.Length{vg.Points(5), vg.Points(4)}
			}
			p.Add(l)
			p.Legend.Add(ser.name, l)
			added++
			if eb := intervalBars(pts, ser, s.x); eb != nil {
				p.Add(eb)
			}
		}
	}
	if added == 0 {
		return nil, errNoData
	}
	for _, v := range []string{Pass, Inconclusive, Fail} {
		if len(marks[v]) == 0 {
			continue
		}
		sc, err := plotter.NewScatter(marks[v])
		if err != nil {
			return nil, err
		}
		sc.GlyphStyle = verdictGlyph(v)
		p.Add(sc)
		p.Legend.Add(v, sc)
	}
	// The knee is drawn only when a point past it failed; when every
	// point passed it lies beyond the range, not at its end.
	if s.Knee.Found && s.Knee.NextIndex >= 0 {
		k := rule{vertical: true, at: s.x(s.Points[s.Knee.Index]), style: dashed(color.NRGBA{26, 127, 55, 255}, vg.Points(1.5))}
		p.Add(k)
		p.Legend.Add("knee", k)
	}
	if zeroY {
		p.Y.Min = 0
	}
	return p, nil
}

// intervalBars are the error bars of a series over repeated points: the
// median's interval at each point that has one (nil when none has).
func intervalBars(pts []SweepPoint, ser sweepSeries, x func(SweepPoint) float64) *plotter.YErrorBars {
	if ser.metric == "" {
		return nil
	}
	tf := ser.tf
	if tf == nil {
		tf = func(v float64) float64 { return v }
	}
	finite := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	var bars errPoints
	for _, pt := range pts {
		iv, ok := pt.Intervals[ser.metric]
		y, yok := ser.y(pt)
		if !ok || !yok || pt.Runs < 2 {
			continue
		}
		lo, hi := tf(iv.CILow), tf(iv.CIHigh)
		if !finite(y) || !finite(lo) || !finite(hi) {
			continue
		}
		bars.XYs = append(bars.XYs, plotter.XY{X: x(pt), Y: y})
		bars.YErrors = append(bars.YErrors, struct{ Low, High float64 }{math.Max(y-lo, 0), math.Max(hi-y, 0)})
	}
	if len(bars.XYs) == 0 {
		return nil
	}
	eb, err := plotter.NewYErrorBars(bars)
	if err != nil {
		return nil
	}
	eb.LineStyle.Width, eb.CapWidth = vg.Points(1.2), vg.Points(6)
	return eb
}

func verdictGlyph(v string) draw.GlyphStyle {
	switch v {
	case Pass:
		return draw.GlyphStyle{Color: color.NRGBA{26, 127, 55, 255}, Radius: vg.Points(4), Shape: draw.CircleGlyph{}}
	case Fail:
		return draw.GlyphStyle{Color: gateFailColor, Radius: vg.Points(7), Shape: boldCross{}}
	}
	return draw.GlyphStyle{Color: color.NRGBA{154, 103, 0, 255}, Radius: vg.Points(5), Shape: draw.TriangleGlyph{}}
}

// boldCross is a thick X on a white halo: gonum's CrossGlyph strokes
// half a point, too faint to tell a failed point at a glance.
type boldCross struct{}

func (boldCross) DrawGlyph(c *draw.Canvas, sty draw.GlyphStyle, pt vg.Point) {
	r := sty.Radius * 0.7
	for _, st := range []draw.LineStyle{{Color: color.White, Width: vg.Points(5)}, {Color: sty.Color, Width: vg.Points(2.5)}} {
		c.StrokeLine2(st, pt.X-r, pt.Y-r, pt.X+r, pt.Y+r)
		c.StrokeLine2(st, pt.X-r, pt.Y+r, pt.X+r, pt.Y-r)
	}
}

func sweepThroughput(s *Sweep) (*plot.Plot, error) {
	return sweepPlot(s, "Achieved vs offered throughput", "uploads per second", false, []sweepSeries{
		{name: "achieved arrivals", y: func(p SweepPoint) (float64, bool) { return p.AchievedRate, p.Uploads > 0 },
			metric: "throughput.achieved_rate"},
		{name: "commits per second", y: func(p SweepPoint) (float64, bool) { return p.CommitsPerSecond, p.Uploads > 0 },
			metric: "throughput.commits_per_second"},
		{name: "offered", y: func(p SweepPoint) (float64, bool) { return p.OfferedRate, p.OfferedRate > 0 }, dashed: true},
	})
}

// sweepLatency plots log10(seconds) on a linear axis with logSecondsTicks,
// as latencyPlot does: latency past the knee grows by orders of magnitude.
func sweepLatency(s *Sweep) (*plot.Plot, error) {
	logS := func(v float64) (float64, bool) { return math.Log10(v), v > 0 }
	p, err := sweepPlot(s, "Latency vs offered load", "latency (s, log scale)", false, []sweepSeries{
		{name: "p99", y: func(p SweepPoint) (float64, bool) { return logS(p.LatencyP99) }, metric: "latency.p99", tf: math.Log10},
		{name: "p50", y: func(p SweepPoint) (float64, bool) { return logS(p.LatencyP50) }, metric: "latency.p50", tf: math.Log10},
	})
	if err != nil {
		return nil, err
	}
	p.Y.Tick.Marker = logSecondsTicks{}
	return p, nil
}

func sweepPolls(s *Sweep) (*plot.Plot, error) {
	return sweepPlot(s, "Mean polls per upload vs offered load", "result polls per upload (mean)", true, []sweepSeries{
		{name: "mean polls", y: func(p SweepPoint) (float64, bool) { return p.PollsMean, p.Uploads > 0 }, metric: "polls.mean"},
	})
}

func sweepConflicts(s *Sweep) (*plot.Plot, error) {
	return sweepPlot(s, "Conflict rate vs offered load", "conflicts (% of decided uploads)", true, []sweepSeries{
		{name: "conflict rate", y: func(p SweepPoint) (float64, bool) { return 100 * p.ConflictRate, p.Uploads > 0 },
			metric: "uploads.conflict_rate", tf: func(v float64) float64 { return 100 * v }},
	})
}

func sweepCost(s *Sweep) (*plot.Plot, error) {
	unit := s.Currency
	if unit == "" {
		unit = "USD"
	}
	return sweepPlot(s, "Cost per 1,000 uploads vs offered load",
		fmt.Sprintf("%s per 1,000 uploads (prices as of %s)", unit, orDash(s.PricesAsOf)), true, []sweepSeries{
			{name: "estimated cost", y: func(p SweepPoint) (float64, bool) { return p.CostPer1000, p.Uploads > 0 },
				metric: "cost.per_1000_uploads"},
		})
}
