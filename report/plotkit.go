package report

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
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
		wt, err := p.WriterTo(chartWidth, chartHeight, format)
		if err != nil {
			return nil, nil, fmt.Errorf("render %s: %w", format, err)
		}
		var buf bytes.Buffer
		if _, err := wt.WriteTo(&buf); err != nil {
			return nil, nil, fmt.Errorf("render %s: %w", format, err)
		}
		out[i] = buf.Bytes()
	}
	return out[0], out[1], nil
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
				label = strconv.FormatFloat(100*(1-math.Pow10(-n)), 'f', n-1, 64)
				if strings.Contains(label, ".") {
					label = strings.TrimRight(strings.TrimRight(label, "0"), ".")
				}
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

// plainTicks are gonum's default ticks without trailing zeros ("25", not
// "25.00").
type plainTicks struct{}

func (plainTicks) Ticks(min, max float64) []plot.Tick {
	ticks := plot.DefaultTicks{}.Ticks(min, max)
	for i := range ticks {
		if ticks[i].Label != "" {
			ticks[i].Label = num(ticks[i].Value)
		}
	}
	return ticks
}

// legendRoom raises the top of a linear Y axis so that a top-placed legend
// of n entries sits above the data instead of over it. Call it after the
// data has been added (Add widens the axes).
func legendRoom(p *plot.Plot, n int) {
	p.Y.Max = p.Y.Min + (p.Y.Max-p.Y.Min)*(1+0.09*float64(n))
}

// logSecondsTicks label a Y axis that holds log10(seconds): decades carry
// human labels ("1ms", "1s"), 2..9 times a decade are minor ticks. Plotting
// log10 on a linear axis instead of using plot.LogScale keeps the axis
// label in place: gonum centres it at the arithmetic mean of the data
// range, which on a log axis lies near the top and pushes the plot down.
type logSecondsTicks struct{}

func (logSecondsTicks) Ticks(min, max float64) []plot.Tick {
	var ticks []plot.Tick
	for d := math.Floor(min); d <= math.Ceil(max); d++ {
		for k := 1; k <= 9; k++ {
			v := d + math.Log10(float64(k))
			if v < min || v > max {
				continue
			}
			t := plot.Tick{Value: v}
			if k == 1 {
				t.Label = seconds(math.Pow10(int(d)))
			}
			ticks = append(ticks, t)
		}
	}
	return ticks
}

// faultShade shades fault windows across the whole height of a time chart.
// It has no DataRange on purpose: a window must not stretch the axes.
type faultShade struct {
	windows []FaultWindow
	color   color.Color
}

func (f faultShade) Plot(c draw.Canvas, p *plot.Plot) {
	trX, _ := p.Transforms(&c)
	for _, w := range f.windows {
		from, to := math.Max(w.From, p.X.Min), math.Min(w.To, p.X.Max)
		if to <= from {
			continue
		}
		x0, x1 := trX(from), trX(to)
		c.FillPolygon(f.color, []vg.Point{
			{X: x0, Y: c.Min.Y}, {X: x1, Y: c.Min.Y}, {X: x1, Y: c.Max.Y}, {X: x0, Y: c.Max.Y},
		})
	}
}

// Thumbnail draws the legend swatch.
func (f faultShade) Thumbnail(c *draw.Canvas) {
	c.FillPolygon(f.color, []vg.Point{
		{X: c.Min.X, Y: c.Min.Y}, {X: c.Max.X, Y: c.Min.Y}, {X: c.Max.X, Y: c.Max.Y}, {X: c.Min.X, Y: c.Max.Y},
	})
}

// shadeFaults adds one shaded layer per fault kind, with a legend entry.
// Call it before adding the data so the lines are drawn on top.
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
		s := faultShade{windows: byKind[k], color: faultColors[i%len(faultColors)]}
		p.Add(s)
		p.Legend.Add("fault: "+k, s)
	}
}
