package report

import (
	"fmt"
	"image/color"
	"math"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/stormsim/stormsim/scenarios"
)

// chartGate is one of the run's gates, parsed back from its expression so
// that a chart can draw its threshold.
type chartGate struct {
	scenarios.Gate
	ok           bool
	inconclusive bool // the harness was bound: neither kept nor crossed
	noData       bool
	value        float64
}

// label names the gate in a legend with how it ended: "gate latency.p99
// < 30s: 29.98s, ok" (or FAILED, or INCONCLUSIVE as the summary says).
func (g chartGate) label() string {
	state := "ok"
	switch {
	case g.inconclusive:
		state = "INCONCLUSIVE"
	case !g.ok:
		state = "FAILED"
	}
	v := "no data"
	if !g.noData {
		v = g.FormatValue(g.value)
	}
	return fmt.Sprintf("gate %s: %s, %s", g.Expr, v, state)
}

// gatesOn returns the run's gates on the given metrics, in the run's
// order. A gate whose expression does not parse (a merged run's
// "shard 0: ...") is left out: it belongs to one shard's load.
func gatesOn(r *Results, metrics ...string) []chartGate {
	var out []chartGate
	for _, g := range r.Gates {
		pg, err := scenarios.ParseGate(g.Expr)
		if err != nil {
			continue
		}
		for _, m := range metrics {
			if pg.Metric == m {
				out = append(out, chartGate{Gate: pg, ok: g.OK, inconclusive: g.Inconclusive, noData: g.NoData, value: g.Value})
			}
		}
	}
	return out
}

// drawGates adds each gate's threshold as a line across the chart,
// horizontal at the Y (or, vertical, at the X) that at returns; at
// reports false for a gate it cannot place. Call it after the data, so the
// thresholds are drawn on top; the axes stretch to include them.
func drawGates(p *plot.Plot, gates []chartGate, vertical bool, at func(chartGate) (float64, bool)) {
	for _, g := range gates {
		v, ok := at(g)
		if !ok || math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		t := gateRule(vertical, v, g.ok || g.inconclusive) // red only when crossed for sure
		p.Add(t)
		p.Legend.Add(g.label(), t)
		// A limit at the very end of an axis would merge with the frame.
		ax := &p.Y
		if vertical {
			ax = &p.X
		}
		if span := ax.Max - ax.Min; v >= ax.Max && span > 0 {
			ax.Max = v + 0.03*span
		}
	}
}

// gateColors mark a threshold the run kept (dark grey) or crossed (red).
var (
	gateOKColor   = color.NRGBA{60, 60, 60, 255}
	gateFailColor = color.NRGBA{207, 34, 46, 255}
)

// rule is a dashed line across the whole chart: horizontal at Y = at, or
// vertical at X = at. A rule that stretches has a DataRange on its own
// axis (a gate's limit off the axis would not be seen); one that does not
// never moves the axes, like faultShade (the repeat chart's median, the
// sweep's knee).
type rule struct {
	vertical bool
	at       float64
	stretch  bool
	style    draw.LineStyle
}

func (r rule) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	if r.vertical {
		if r.at >= p.X.Min && r.at <= p.X.Max {
			x := trX(r.at)
			c.StrokeLine2(r.style, x, c.Min.Y, x, c.Max.Y)
		}
		return
	}
	if r.at >= p.Y.Min && r.at <= p.Y.Max {
		y := trY(r.at)
		c.StrokeLine2(r.style, c.Min.X, y, c.Max.X, y)
	}
}

// DataRange is empty (min +Inf, max -Inf) on every axis the rule does not
// stretch: plot.Add then leaves that axis as it is.
func (r rule) DataRange() (xmin, xmax, ymin, ymax float64) {
	inf := math.Inf(1)
	xmin, xmax, ymin, ymax = inf, -inf, inf, -inf
	switch {
	case !r.stretch:
	case r.vertical:
		xmin, xmax = r.at, r.at
	default:
		ymin, ymax = r.at, r.at
	}
	return xmin, xmax, ymin, ymax
}

func (r rule) Thumbnail(c *draw.Canvas) {
	y := (c.Min.Y + c.Max.Y) / 2
	c.StrokeLine2(r.style, c.Min.X, y, c.Max.X, y)
}

// dashed is the line style of a rule: dashes of 5 and gaps of 3 points.
func dashed(col color.Color, width vg.Length) draw.LineStyle {
	return draw.LineStyle{Color: col, Width: width, Dashes: []vg.Length{vg.Points(5), vg.Points(3)}}
}

// gateRule is a gate's limit: dash-dotted, dark grey when the run kept it,
// red when it crossed it.
func gateRule(vertical bool, at float64, ok bool) rule {
	col := color.Color(gateOKColor)
	if !ok {
		col = gateFailColor
	}
	return rule{vertical: vertical, at: at, stretch: true, style: draw.LineStyle{Color: col, Width: vg.Points(2),
		Dashes: []vg.Length{vg.Points(8), vg.Points(3), vg.Points(2), vg.Points(3)}}}
}

// chartGateMetrics names, per chart, the gate metrics whose thresholds
// it draws.
var chartGateMetrics = map[string][]string{
	"latency":            metricsWith("latency."),
	"polls":              {"polls.mean", "polls.p50", "polls.p99", "polls.max", "polls.zero_share"},
	"scheduler-lateness": metricsWith("scheduler.lateness."),
	"throughput":         {"throughput.achieved_rate", "throughput.commits_per_second", "throughput.achieved_ratio"},
	"conflicts":          {"uploads.conflict_rate"},
}

// metricsWith lists the gate metrics that start with prefix.
func metricsWith(prefix string) []string {
	var out []string
	for _, m := range scenarios.Metrics {
		if strings.HasPrefix(m.Name, prefix) {
			out = append(out, m.Name)
		}
	}
	return out
}
