package report

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Chart size: wide enough for a time axis, small enough to sit in a page.
const (
	chartWidth  = 8 * vg.Inch
	chartHeight = 4.5 * vg.Inch
)

// palette holds distinguishable line colours (Okabe-Ito, colour-blind safe).
var palette = []color.Color{
	color.RGBA{0, 114, 178, 255},   // blue
	color.RGBA{213, 94, 0, 255},    // vermillion
	color.RGBA{0, 158, 115, 255},   // green
	color.RGBA{204, 121, 167, 255}, // purple
	color.RGBA{230, 159, 0, 255},   // orange
	color.RGBA{86, 180, 233, 255},  // sky blue
	color.RGBA{0, 0, 0, 255},       // black
}

// faultColors shade fault windows, one per fault kind.
var faultColors = []color.Color{
	color.NRGBA{230, 159, 0, 70},
	color.NRGBA{204, 121, 167, 70},
	color.NRGBA{86, 180, 233, 70},
	color.NRGBA{120, 120, 120, 70},
}

// newPlot returns a plot with a title and labelled axes, in a sans face.
func newPlot(title, x, y string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = x
	p.Y.Label.Text = y
	for _, f := range []*plot.Axis{&p.X, &p.Y} {
		f.Label.TextStyle.Font.Variant = "Sans"
		f.Tick.Label.Font.Variant = "Sans"
	}
	p.X.Tick.Marker = plainTicks{}
	p.Y.Tick.Marker = plainTicks{}
	p.Title.TextStyle.Font.Variant = "Sans"
	p.Legend.TextStyle.Font.Variant = "Sans"
	p.Legend.Top = true
	p.Add(plotter.NewGrid())
	return p
}

// render draws p as PNG and SVG.
func render(p *plot.Plot) (pngData, svgData []byte, err error) {
	var out [2][]byte
	for i, format := range []string{"png", "svg"} {
		c, err := draw.NewFormattedCanvas(chartWidth+legendWidth(p), chartHeight, format)
		if err != nil {
			return nil, nil, fmt.Errorf("render %s: %w", format, err)
		}
		drawChart(p, draw.New(c))
		var buf bytes.Buffer
		if _, err := c.WriteTo(&buf); err != nil {
			return nil, nil, fmt.Errorf("render %s: %w", format, err)
		}
		out[i] = buf.Bytes()
	}
	return out[0], out[1], nil
}

// legendGap separates the chart from its legend.
const legendGap = 8 * vg.Millimeter

// legendWidth is the room the legend takes to the right of the chart (0
// without a legend).
func legendWidth(p *plot.Plot) vg.Length {
	w := p.Legend.Rectangle(draw.Canvas{}).Size().X
	if w == 0 {
		return 0
	}
	return w + 2*legendGap
}

// chartLayout splits a canvas into the chart (axes and data) and, to its
// right, the legend, top-aligned with the data area below the title.
// Drawn there, the legend can never hide data, whatever the series do.
func chartLayout(p *plot.Plot, c draw.Canvas) (chart, legend draw.Canvas) {
	lw := legendWidth(p)
	chart = draw.Crop(c, 0, -lw, 0, 0)
	legend = draw.Crop(c, c.Size().X-lw+legendGap, -legendGap, 0, 0)
	if p.Title.Text != "" {
		legend.Max.Y -= p.Title.TextStyle.Rectangle(p.Title.Text).Size().Y + p.Title.Padding
	}
	return chart, legend
}

// drawChart draws p with its legend outside the data area.
func drawChart(p *plot.Plot, c draw.Canvas) {
	chart, legendC := chartLayout(p, c)
	legend := p.Legend
	p.Legend = plot.NewLegend() // empty: plot.Draw would draw it over the data
	p.Draw(chart)
	p.Legend = legend
	legend.Top, legend.Left = true, true
	legend.Draw(legendC)
}

// headroom raises the top of a linear Y axis a little, so that the
// highest value does not run along the frame. Call it last.
func headroom(p *plot.Plot) {
	p.Y.Max += 0.05 * (p.Y.Max - p.Y.Min)
}

// line returns a solid line in the i-th palette colour.
func line(xys plotter.XYs, i int) (*plotter.Line, error) {
	l, err := plotter.NewLine(xys)
	if err != nil {
		return nil, err
	}
	l.Color = palette[i%len(palette)]
	l.Width = vg.Points(1.5)
	return l, nil
}

// maxNines caps the percentile axis: 100% itself is infinitely many nines,
// so the maximum is drawn at 99.9999%.
const maxNines = 6

// nines maps a percentile to its "number of nines": 0 -> 0, 90 -> 1,
// 99 -> 2, 99.9 -> 3. A linear axis over nines is the log scale HDR
// histogram plots use, which gives the tail the room it deserves.
func nines(pct float64) float64 {
	if pct >= 100 {
		return maxNines
	}
	return math.Min(maxNines, -math.Log10(1-pct/100))
}

// ninesTicks labels whole nines with their percentile: 0, 90, 99, 99.9...
func ninesTicks() plot.Ticker {
	return plot.TickerFunc(func(_, hi float64) []plot.Tick {
		var ticks []plot.Tick
		for n := 0; float64(n) <= math.Ceil(hi) && n <= maxNines; n++ {
			label := "0"
			if n > 0 {
				label = fixed(100*(1-math.Pow10(-n)), n-1)
			}
			ticks = append(ticks, plot.Tick{Value: float64(n), Label: label})
			if n < maxNines {
				// Minor ticks at 2..9 tenths of the remaining tail.
				for k := 2; k <= 9; k++ {
					v := nines(100 * (1 - float64(k)*math.Pow10(-n-1)))
					if v <= hi {
						ticks = append(ticks, plot.Tick{Value: v})
					}
				}
			}
		}
		return ticks
	})
}

// plainTicks label a linear axis at a "nice" step (1, 2 or 5 times a
// power of ten) chosen for five to ten labels, without trailing zeros
// ("25", not "25.00"). gonum's default ticker aims at about three labels,
// which left a 0-29 s time axis labelled only at 0 and 25.
type plainTicks struct{}

// maxTickLabels is the most labelled ticks a linear axis gets.
const maxTickLabels = 10

func (plainTicks) Ticks(lo, hi float64) []plot.Tick {
	span := hi - lo
	if !(span > 0) || math.IsInf(span, 0) {
		ticks := plot.DefaultTicks{}.Ticks(lo, hi)
		for i := range ticks {
			if ticks[i].Label != "" {
				ticks[i].Label = num(ticks[i].Value)
			}
		}
		return ticks
	}
	step, lead := niceStep(span / maxTickLabels)
	minor := step / 5
	if lead == 2 {
		minor = step / 4
	}
	decimals := max(0, int(-math.Floor(math.Log10(step)+1e-9)))
	var ticks []plot.Tick
	for k := math.Ceil(lo/minor - 1e-9); k*minor <= hi+minor*1e-9; k++ {
		v := k * minor
		t := plot.Tick{Value: v}
		if r := v / step; math.Abs(r-math.Round(r)) < 1e-6 {
			t.Label = fixed(v, decimals)
		}
		ticks = append(ticks, t)
	}
	return ticks
}

// niceStep returns the smallest 1, 2 or 5 times a power of ten that is at
// least raw, and its leading digit.
func niceStep(raw float64) (step float64, lead int) {
	p := math.Pow10(int(math.Floor(math.Log10(raw))))
	for _, m := range []int{1, 2, 5, 10} {
		if float64(m)*p >= raw*(1-1e-9) {
			if m == 10 {
				return 10 * p, 1
			}
			return float64(m) * p, m
		}
	}
	return 10 * p, 1
}

// logSecondsTicks label a Y axis that holds log10(seconds): decades carry
// human labels ("1ms", "1s"), 2..9 times a decade are minor ticks. Plotting
// log10 on a linear axis instead of using plot.LogScale keeps the axis
// label in place: gonum centres it at the arithmetic mean of the data
// range, which on a log axis lies near the top and pushes the plot down.
// A narrow range (all values within one power of ten: 11.7-28.7 s) has at
// most one decade on it, so the labels get denser until at least three
// show: 1-2-5 times a decade, then every multiple, then linear steps.
type logSecondsTicks struct{}

// minLogLabels is the fewest labelled ticks a log axis gets.
const minLogLabels = 3

func (logSecondsTicks) Ticks(min, max float64) []plot.Tick {
	for _, labelled := range [][]int{{1}, {1, 2, 5}, {1, 2, 3, 4, 5, 6, 7, 8, 9}} {
		ticks := decadeTicks(min, max, labelled)
		if labelCount(ticks) >= minLogLabels {
			return ticks
		}
	}
	// Narrower than one step between multiples: linear steps in seconds,
	// placed on the log axis.
	var ticks []plot.Tick
	for _, t := range (plainTicks{}).Ticks(math.Pow(10, min), math.Pow(10, max)) {
		if t.Value <= 0 {
			continue
		}
		lt := plot.Tick{Value: math.Log10(t.Value)}
		if t.Label != "" {
			lt.Label = seconds(t.Value)
		}
		ticks = append(ticks, lt)
	}
	return ticks
}

// decadeTicks puts a tick at every multiple 1..9 of each decade in
// [min, max] (log10 seconds) and labels the multiples in labelled.
func decadeTicks(min, max float64, labelled []int) []plot.Tick {
	var ticks []plot.Tick
	for d := math.Floor(min); d <= math.Ceil(max); d++ {
		for k := 1; k <= 9; k++ {
			v := d + math.Log10(float64(k))
			if v < min || v > max {
				continue
			}
			t := plot.Tick{Value: v}
			for _, l := range labelled {
				if k == l {
					t.Label = seconds(float64(k) * math.Pow10(int(d)))
				}
			}
			ticks = append(ticks, t)
		}
	}
	return ticks
}

func labelCount(ticks []plot.Tick) int {
	n := 0
	for _, t := range ticks {
		if t.Label != "" {
			n++
		}
	}
	return n
}

// faultShade shades fault windows across the whole height of a time chart
// and numbers each at its top: four colours cycle over many kinds, the
// number ties a window to its legend entry. It has no DataRange on
// purpose: a window must not stretch the axes.
type faultShade struct {
	windows []FaultWindow
	color   color.Color
	number  string
	row     int // the number's line from the top: neighbours do not overlap
}

func (f faultShade) Plot(c draw.Canvas, p *plot.Plot) {
	trX, _ := p.Transforms(&c)
	sty := text.Style{Color: color.Gray{Y: 60}, Font: font.From(plot.DefaultFont, vg.Points(8)), Handler: plot.DefaultTextHandler}
	sty.Font.Variant = "Sans"
	for _, w := range f.windows {
		from, to := math.Max(w.From, p.X.Min), math.Min(w.To, p.X.Max)
		if to <= from {
			continue
		}
		x0, x1 := trX(from), trX(to)
		c.FillPolygon(f.color, []vg.Point{
			{X: x0, Y: c.Min.Y}, {X: x1, Y: c.Min.Y}, {X: x1, Y: c.Max.Y}, {X: x0, Y: c.Max.Y},
		})
		c.FillText(sty, vg.Point{X: x0 + vg.Points(1), Y: c.Max.Y - vg.Points(9*float64(1+f.row))}, f.number)
	}
}

// Thumbnail draws the legend swatch.
func (f faultShade) Thumbnail(c *draw.Canvas) {
	c.FillPolygon(f.color, []vg.Point{
		{X: c.Min.X, Y: c.Min.Y}, {X: c.Max.X, Y: c.Min.Y}, {X: c.Max.X, Y: c.Max.Y}, {X: c.Min.X, Y: c.Max.Y},
	})
}

// shadeFaults adds one shaded, numbered layer per fault kind, with a
// legend entry "fault N: KIND". Call it before adding the data so the
// lines are drawn on top.
func shadeFaults(p *plot.Plot, faults []FaultWindow) {
	var kinds []string
	byKind := map[string][]FaultWindow{}
	for _, f := range faults {
		if _, ok := byKind[f.Kind]; !ok {
			kinds = append(kinds, f.Kind)
		}
		byKind[f.Kind] = append(byKind[f.Kind], f)
	}
	for i, k := range kinds {
		n := strconv.Itoa(i + 1)
		s := faultShade{windows: byKind[k], color: faultColors[i%len(faultColors)], number: n, row: i % 4}
		p.Add(s)
		p.Legend.Add("fault "+n+": "+k, s)
	}
}
