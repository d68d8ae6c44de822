package report

import (
	"fmt"
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// repeatCaption describes the repeat chart (report.html).
const repeatCaption = "Spread of a repeated run: for each metric, every run's value (dots) and the confidence interval of the median (bar), as a percentage of the median; metrics whose median is 0 are in the table only."

// setChartSpecs are the charts of a repeated run's set (Charts draws them
// after chartSpecs when their data is there).
var setChartSpecs = []struct {
	name  string
	build func(r *Results) (*plot.Plot, error)
}{
	{"repeat", repeatPlot},
}

// errPoints are points with vertical error bars (offsets below, above).
type errPoints struct {
	plotter.XYs
	plotter.YErrors
}

// repeatPlot draws the spread of a repeated run: one column per metric
// (the key metrics and every gated one), each run's value as a dot and
// the median's interval as a bar, all relative to the median so that
// seconds, counts and ratios share one axis.
func repeatPlot(r *Results) (*plot.Plot, error) {
	if r.Repeat == nil || r.Repeat.N == 0 {
		return nil, errNoData
	}
	var names []string
	var runs plotter.XYs
	var bars errPoints
	for _, name := range repeatRows(r) {
		iv := r.Repeat.Metrics[name]
		if iv.Median == 0 || math.IsNaN(iv.Median) {
			continue
		}
		x := float64(len(names))
		names = append(names, name)
		rel := func(v float64) float64 { return 100 * v / iv.Median }
		for _, v := range iv.Values {
			if !math.IsNaN(v) {
				runs = append(runs, plotter.XY{X: x, Y: rel(v)})
			}
		}
		bars.XYs = append(bars.XYs, plotter.XY{X: x, Y: 100})
		bars.YErrors = append(bars.YErrors, struct{ Low, High float64 }{100 - rel(iv.CILow), rel(iv.CIHigh) - 100})
	}
	if len(names) == 0 {
		return nil, errNoData
	}
	p := newPlot("Spread over repeated runs", "", "% of the median")
	eb, err := plotter.NewYErrorBars(bars)
	if err != nil {
		return nil, err
	}
	eb.LineStyle.Color, eb.LineStyle.Width, eb.CapWidth = palette[0], vg.Points(2.5), vg.Points(10)
	sc, err := plotter.NewScatter(runs)
	if err != nil {
		return nil, err
	}
	sc.GlyphStyle = draw.GlyphStyle{Color: palette[1], Radius: vg.Points(3), Shape: draw.CircleGlyph{}}
	hl := rule{at: 100, style: dashed(color.Gray{Y: 110}, vg.Points(1))}
	p.Add(hl, eb, sc)
	p.Legend.Add("median", hl)
	p.Legend.Add(fmt.Sprintf("interval of the median (%s)", percent(minConfidence(r))), barThumb{eb.LineStyle})
	p.Legend.Add("each run", sc)
	p.NominalX(names...)
	p.X.Tick.Label.Rotation = math.Pi / 7
	p.X.Tick.Label.XAlign = draw.XRight
	p.X.Tick.Label.YAlign = draw.YCenter
	p.X.Tick.Label.Font.Variant = "Sans"
	p.X.Padding = vg.Points(20)
	return p, nil
}

// minConfidence is the lowest coverage among the repeat's intervals.
func minConfidence(r *Results) float64 {
	c := 1.0
	for _, iv := range r.Repeat.Metrics {
		c = math.Min(c, iv.Confidence)
	}
	return c
}

// barThumb is the legend swatch of an error bar: a vertical stroke.
type barThumb struct{ style draw.LineStyle }

func (b barThumb) Thumbnail(c *draw.Canvas) {
	x := (c.Min.X + c.Max.X) / 2
	c.StrokeLine2(b.style, x, c.Min.Y, x, c.Max.Y)
}
