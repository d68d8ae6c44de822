package report

import (
	"errors"
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// Chart is one rendered chart.
type Chart struct {
	Name  string // file stem and HTML id suffix: "latency" -> plots/latency.png, id="chart-latency"
	Title string
	PNG   []byte
	SVG   []byte
}

// errNoData tells Charts to skip a chart whose data is absent.
var errNoData = errors.New("no data")

// chartSpecs lists the charts in display order.
var chartSpecs = []struct {
	name  string
	build func(r *Results) (*plot.Plot, error)
}{
	{"latency", latencyPlot},
	{"polls", pollsPlot},
	{"scheduler-lateness", latenessPlot},
	{"throughput", throughputPlot},
	{"inflight", inFlightPlot},
	{"conflicts", conflictPlot},
	{"memory", memoryPlot},
	{"bills", billsPlot},
}

// ChartNames lists every chart Charts can draw, in display order.
func ChartNames() []string {
	names := make([]string, len(chartSpecs))
	for i, s := range chartSpecs {
		names[i] = s.name
	}
	return names
}

// Charts renders every chart whose data r holds, as PNG and SVG. A chart
// whose data is absent (no scheduler, no time series) is left out.
func Charts(r *Results) ([]Chart, error) {
	var charts []Chart
	specs := append(chartSpecs[:len(chartSpecs):len(chartSpecs)], setChartSpecs...)
	for _, s := range append(specs, modelChartSpecs...) {
		p, err := s.build(r)
		if errors.Is(err, errNoData) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("plot %s: %w", s.name, err)
		}
		pngData, svgData, err := render(p)
		if err != nil {
			return nil, fmt.Errorf("plot %s: %w", s.name, err)
		}
		charts = append(charts, Chart{Name: s.name, Title: p.Title.Text, PNG: pngData, SVG: svgData})
	}
	lag, err := regionCharts(r)
	if err != nil {
		return nil, err
	}
	return append(charts, lag...), nil
}

// WritePlots renders the charts into dir/plots/NAME.png and NAME.svg and
// returns the paths written.
func WritePlots(dir string, r *Results) ([]string, error) {
	charts, err := Charts(r)
	if err != nil {
		return nil, err
	}
	return writeCharts(dir, charts)
}

func writeCharts(dir string, charts []Chart) ([]string, error) {
	plots := filepath.Join(dir, "plots")
	if err := os.MkdirAll(plots, 0o755); err != nil {
		return nil, fmt.Errorf("write plots: %w", err)
	}
	var paths []string
	for _, c := range charts {
		for ext, data := range map[string][]byte{".png": c.PNG, ".svg": c.SVG} {
			path := filepath.Join(plots, c.Name+ext)
			if err := os.WriteFile(path, data, 0o644); err != nil {
				return nil, fmt.Errorf("write plots: %w", err)
			}
			paths = append(paths, path)
		}
	}
	sort.Strings(paths)
	return paths, nil
}

// latencyPlot draws the latency spectrum, HDR style: percentile on a
// "nines" axis, seconds on a log axis, the whole latency and each phase.
func latencyPlot(r *Results) (*plot.Plot, error) {
	series := []struct {
		name string
		lat  Latency
	}{{"planned -> outcome known", r.Latency}}
	for _, ph := range phases(r) {
		series = append(series, struct {
			name string
			lat  Latency
		}{"phase: " + ph.name, ph.lat})
	}
	p := newPlot("Upload latency by percentile (from the planned instant)",
		"percentile (%, log scale of nines)", "latency (s, log scale)")
	added := 0
	for i, s := range series {
		var xys plotter.XYs
		for _, pv := range s.lat.Percentiles {
			// Log axes cannot show zero; a zero latency is below resolution.
			if pv[1] > 0 && pv[0] >= 0 {
				xys = append(xys, plotter.XY{X: nines(pv[0]), Y: math.Log10(pv[1])})
			}
		}
		if len(xys) == 0 {
			continue
		}
		l, err := line(xys, i)
		if err != nil {
			return nil, err
		}
		if i > 0 {
			l.Width = vg.Points(1)
			l.Dashes = []vg.Length{vg.Points(4), vg.Points(2)}
		}
		p.Add(l)
		p.Legend.Add(s.name, l)
		added++
	}
	if added == 0 {
		return nil, errNoData
	}
	drawGates(p, gatesOn(r, metricsWith("latency.")...), false, func(g chartGate) (float64, bool) {
		return math.Log10(g.Value), g.Value > 0
	})
	p.X.Min = 0
	p.X.Tick.Marker = ninesTicks()
	p.Y.Tick.Marker = logSecondsTicks{}
	return p, nil
}

// pollsPlot draws how many result queries uploads needed; the bar at zero
// (outcome known from the push alone) is highlighted and annotated.
func pollsPlot(r *Results) (*plot.Plot, error) {
	counts := r.Polls.Counts
	// The histogram always has its overflow bucket; the axis ends at the
	// last bucket that holds uploads.
	overflow := len(counts) - 1
	for len(counts) > 1 && counts[len(counts)-1] == 0 {
		counts = counts[:len(counts)-1]
	}
	var total int64
	for _, c := range counts {
		total += c
	}
	if total == 0 {
		return nil, errNoData
	}
	p := newPlot("Result polls per upload (0 = outcome came by push)", "polls per upload", "uploads")
	push := &plotter.Histogram{FillColor: palette[2], LineStyle: plotter.DefaultLineStyle, Width: 0.8}
	rest := &plotter.Histogram{FillColor: palette[0], LineStyle: plotter.DefaultLineStyle, Width: 0.8}
	ticks := make([]plot.Tick, len(counts))
	for i, c := range counts {
		bin := plotter.HistogramBin{Min: float64(i) - 0.4, Max: float64(i) + 0.4, Weight: float64(c)}
		if i == 0 {
			push.Bins = append(push.Bins, bin)
		} else {
			rest.Bins = append(rest.Bins, bin)
		}
		ticks[i] = plot.Tick{Value: float64(i), Label: strconv.Itoa(i)}
	}
	if len(counts) > 1 && len(counts)-1 == overflow {
		ticks[len(ticks)-1].Label += "+" // the last bucket holds the rest
	}
	p.Add(push)
	p.Legend.Add(fmt.Sprintf("resolved by push: %s", percent(share(counts[0], total))), push)
	if len(rest.Bins) > 0 {
		p.Add(rest)
		p.Legend.Add(fmt.Sprintf("polled (mean %s polls per upload)", num(round2(r.Polls.Mean))), rest)
	}
	labels, err := plotter.NewLabels(plotter.XYLabels{
		XYs:    []plotter.XY{{X: 0, Y: float64(counts[0])}},
		Labels: []string{percent(share(counts[0], total))},
	})
	if err != nil {
		return nil, err
	}
	labels.Offset = vg.Point{X: -vg.Points(10), Y: vg.Points(3)}
	for i := range labels.TextStyle {
		labels.TextStyle[i].Font.Variant = "Sans"
	}
	p.Add(labels)
	drawGates(p, gatesOn(r, "polls.mean", "polls.p50", "polls.p99", "polls.max"), true, func(g chartGate) (float64, bool) {
		return g.Value, true
	})
	// The share resolved by push is the bar at 0: its gate is the height
	// that bar must reach (or stay under).
	drawGates(p, gatesOn(r, "polls.zero_share"), false, func(g chartGate) (float64, bool) {
		return g.Value * float64(total), true
	})
	// A gate beyond the last bucket stretched the axis: label it on.
	for i := len(ticks); float64(i) <= p.X.Max; i++ {
		ticks = append(ticks, plot.Tick{Value: float64(i), Label: strconv.Itoa(i)})
	}
	p.X.Tick.Marker = plot.ConstantTicks(ticks)
	p.Y.Min = 0
	headroom(p)
	return p, nil
}

// latenessPlot draws the scheduler's lateness histogram against the
// theoretical uniform distribution over one resolution step.
func latenessPlot(r *Results) (*plot.Plot, error) {
	sc := r.Scheduler
	if sc == nil {
		return nil, errNoData
	}
	n := sc.Lateness.Count
	if n == 0 {
		n = sc.Runs
	}
	width := 5.0
	if sc.TheoryMean > 0 {
		width = 2 * sc.TheoryMean / 12
	}
	bins := latenessBins(sc.Lateness.Percentiles, n, width)
	if len(bins) == 0 {
		return nil, errNoData
	}
	p := newPlot(fmt.Sprintf("Scheduler lateness (%s) vs theoretical uniform", orDash(sc.Strategy)),
		"lateness after the due time (s; bins estimated from percentiles)",
		fmt.Sprintf("events per %s bin", seconds(width)))
	h := &plotter.Histogram{Bins: bins, Width: width, FillColor: color.NRGBA{0, 114, 178, 160}, LineStyle: plotter.DefaultLineStyle}
	p.Add(h)
	p.Legend.Add(fmt.Sprintf("measured (mean %s, p99 %s)", seconds(sc.Lateness.Mean), seconds(sc.Lateness.P99)), h)
	if sc.TheoryMean > 0 {
		span := 2 * sc.TheoryMean
		level := float64(n) * width / span
		l, err := line(plotter.XYs{{X: 0, Y: 0}, {X: 0, Y: level}, {X: span, Y: level}, {X: span, Y: 0}}, 1)
		if err != nil {
			return nil, err
		}
		l.Dashes = []vg.Length{vg.Points(6), vg.Points(3)}
		l.Width = vg.Points(2)
		p.Add(l)
		p.Legend.Add(fmt.Sprintf("theory: uniform over 0..%ss (mean %s)", num(span), seconds(sc.TheoryMean)), l)
	}
	drawGates(p, gatesOn(r, metricsWith("scheduler.lateness.")...), true, func(g chartGate) (float64, bool) {
		return g.Value, true
	})
	p.Y.Min = 0
	headroom(p)
	return p, nil
}

// latenessBins estimates a histogram from a percentile spectrum by linear
// interpolation of the empirical CDF. Results carries no lateness histogram
// yet (proposed: Scheduler.LatenessCounts with LatenessBucketSeconds);
// until then the spectrum is all there is, and the axis label says so.
func latenessBins(spectrum [][2]float64, n int64, width float64) []plotter.HistogramBin {
	if len(spectrum) < 2 || n <= 0 || width <= 0 {
		return nil
	}
	pts := append([][2]float64(nil), spectrum...)
	sort.Slice(pts, func(i, j int) bool { return pts[i][0] < pts[j][0] })
	lo, hi := pts[0][1], pts[len(pts)-1][1]
	for _, p := range pts {
		lo, hi = math.Min(lo, p[1]), math.Max(hi, p[1])
	}
	cdf := func(x float64) float64 {
		f := 0.0
		for i, p := range pts {
			if p[1] > x {
				if i > 0 && p[1] > pts[i-1][1] && x >= pts[i-1][1] {
					prev := pts[i-1]
					f = prev[0] + (p[0]-prev[0])*(x-prev[1])/(p[1]-prev[1])
				}
				break
			}
			f = p[0]
		}
		return f / 100
	}
	first := math.Floor(lo / width)
	last := math.Ceil(hi / width)
	if last == first {
		last++
	}
	var bins []plotter.HistogramBin
	for k := first; k < last; k++ {
		a, b := k*width, (k+1)*width
		// The CDF is right-continuous; the bin holding the minimum also
		// takes the mass at it.
		fa := cdf(a)
		if k == first {
			fa = 0
		}
		bins = append(bins, plotter.HistogramBin{Min: a, Max: b, Weight: float64(n) * (cdf(b) - fa)})
	}
	return bins
}
