package report

import (
	"fmt"
	"html"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// tickLabels returns the labelled ticks a ticker puts on [lo, hi].
func tickLabels(m plot.Ticker, lo, hi float64) []string {
	var out []string
	for _, t := range m.Ticks(lo, hi) {
		if t.Label != "" {
			out = append(out, t.Label)
		}
	}
	return out
}

var svgText = regexp.MustCompile(`<text[^>]*>([^<]*)</text>`)

// svgTexts renders p as SVG and returns every text drawn: title, axis
// labels, tick labels and legend entries, in drawing order.
func svgTexts(t *testing.T, p *plot.Plot) []string {
	t.Helper()
	_, svg, err := render(p)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range svgText.FindAllSubmatch(svg, -1) {
		out = append(out, html.UnescapeString(string(m[1])))
	}
	return out
}

// gateTexts are the legend entries of drawn gate thresholds.
func gateTexts(texts []string) []string {
	var out []string
	for _, s := range texts {
		if strings.HasPrefix(s, "gate ") {
			out = append(out, s)
		}
	}
	return out
}

func TestLogSecondsTicks_Ticks_AtLeastThreeLabels(t *testing.T) {
	tests := []struct {
		name   string
		lo, hi float64 // seconds
	}{
		{"burst: within one power of ten", 11.7, 28.7},
		{"narrow", 12, 12.5},
		{"one decade", 0.2, 3},
		{"many decades", 0.0001, 40},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lo, hi := math.Log10(tt.lo), math.Log10(tt.hi)
			ticks := logSecondsTicks{}.Ticks(lo, hi)
			if n := labelCount(ticks); n < minLogLabels {
				t.Errorf("%d labelled ticks on %v..%vs, want at least %d: %v", n, tt.lo, tt.hi, minLogLabels, tickLabels(logSecondsTicks{}, lo, hi))
			}
			for _, tk := range ticks {
				if tk.Value < lo-1e-9 || tk.Value > hi+1e-9 {
					t.Errorf("tick %q at %v lies outside %v..%v", tk.Label, tk.Value, lo, hi)
				}
			}
		})
	}
}

func TestPlainTicks_Ticks_EnoughLabels(t *testing.T) {
	tests := []struct {
		lo, hi float64
		want   []string
	}{
		{0, 29, []string{"0", "5", "10", "15", "20", "25"}},
		{0, 60, []string{"0", "10", "20", "30", "40", "50", "60"}},
		{0, 1, []string{"0", "0.1", "0.2", "0.3", "0.4", "0.5", "0.6", "0.7", "0.8", "0.9", "1"}},
		{0, 5200, []string{"0", "1000", "2000", "3000", "4000", "5000"}},
		{-0.4, 7.4, []string{"0", "1", "2", "3", "4", "5", "6", "7"}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%v..%v", tt.lo, tt.hi), func(t *testing.T) {
			got := tickLabels(plainTicks{}, tt.lo, tt.hi)
			if !slices.Equal(got, tt.want) {
				t.Errorf("labels %v, want %v", got, tt.want)
			}
		})
	}
}

func TestLatencyPlot_OneDecade_YAxisLabelledWithGate(t *testing.T) {
	r := &Results{Latency: Latency{Count: 7500, P99: 28.1, Percentiles: [][2]float64{
		{0, 11.7}, {50, 17}, {90, 24}, {99, 28.1}, {100, 28.7}}},
		Gates: []Gate{{Expr: "latency.p99 < 30s", OK: true, Value: 29.982719}, {Expr: "polls.mean <= 5", OK: true, Value: 3.4}}}
	p, err := latencyPlot(r)
	if err != nil {
		t.Fatal(err)
	}
	if got := tickLabels(p.Y.Tick.Marker, p.Y.Min, p.Y.Max); len(got) < 3 {
		t.Errorf("y axis labels %v, want at least 3", got)
	}
	if p.Y.Max < math.Log10(30) {
		t.Errorf("y axis ends at %.3gs, below the 30s gate", math.Pow(10, p.Y.Max))
	}
	if got := gateTexts(svgTexts(t, p)); !slices.Equal(got, []string{"gate latency.p99 < 30s: 29.98s, ok"}) {
		t.Errorf("gates drawn %q, want the latency gate only", got)
	}
}

// Each gate is drawn on the chart that judges its metric, and only there.
func TestCharts_Gates_OnTheChartsTheyJudge(t *testing.T) {
	r := fixture(t)
	r.Gates = append(r.Gates,
		Gate{Expr: "uploads.conflict_rate < 30%", OK: true, Value: 0.0812},
		Gate{Expr: "polls.zero_share >= 40%", OK: true, Value: 0.412},
		Gate{Expr: "throughput.commits_per_second > 100", OK: true, Value: 150},
		Gate{Expr: "latency.p50 < 100ms", Value: 0.4, Inconclusive: true, Reason: "harness-bound (CPU)"})
	want := map[string][]string{
		"latency":            {"gate latency.p99 < 2s: 2.31s, FAILED", "gate latency.p50 < 100ms: 400ms, INCONCLUSIVE"},
		"polls":              {"gate polls.mean <= 1.2: 0.84, ok", "gate polls.zero_share >= 40%: 41.2%, ok"},
		"scheduler-lateness": {"gate scheduler.lateness.p99 <= 75s: 59.4s, ok"},
		"throughput":         {"gate throughput.commits_per_second > 100: 150, ok", "gate throughput.achieved_ratio >= 0.95: 0.982, ok"},
		"inflight":           nil,
		"conflicts":          {"gate uploads.conflict_rate < 30%: 8.1%, ok"},
		"memory":             nil,
		"bills":              nil,
	}
	for _, s := range chartSpecs {
		t.Run(s.name, func(t *testing.T) {
			p, err := s.build(r)
			if err != nil {
				t.Fatal(err)
			}
			if got := gateTexts(svgTexts(t, p)); !slices.Equal(got, want[s.name]) {
				t.Errorf("gates drawn %q, want %q", got, want[s.name])
			}
			caption := captionFor(s.name, chartCaptions[s.name], r)
			if says := strings.Contains(caption, "gate thresholds"); says != (len(want[s.name]) > 0) {
				t.Errorf("caption %q", caption)
			}
		})
	}
}

// The legend is drawn beside the chart, never over its data.
func TestChartLayout_Fixture_LegendBesideData(t *testing.T) {
	r := fixture(t)
	for _, s := range chartSpecs {
		t.Run(s.name, func(t *testing.T) {
			p, err := s.build(r)
			if err != nil {
				t.Fatal(err)
			}
			if legendWidth(p) == 0 {
				t.Fatal("no legend")
			}
			c := draw.New(vgimg.New(chartWidth+legendWidth(p), chartHeight))
			chart, legend := chartLayout(p, c)
			if data := p.DataCanvas(chart); legend.Min.X < data.Max.X || legend.Min.X < chart.Max.X {
				t.Errorf("legend starts at x=%v, inside the chart (data ends at %v)", legend.Min.X, data.Max.X)
			}
			if got := p.Legend.Rectangle(legend).Size().X; got > legend.Size().X+1e-6 {
				t.Errorf("legend %v wide, room for %v", got, legend.Size().X)
			}
		})
	}
}

func TestThroughputPlot_Burst_PlannedFollowsSchedule(t *testing.T) {
	r := &Results{Throughput: Throughput{PlannedRate: 1071.43}}
	planned := []int64{2500, 2500, 0, 500, 500, 500, 0, 0}
	for i, n := range planned {
		r.Series = append(r.Series, Sample{Second: float64(i), Started: n, Planned: n})
	}
	xys, name := plannedSeries(r)
	if name != "planned (per second)" || len(xys) != len(planned) {
		t.Fatalf("planned %q with %d points, want the per-second schedule", name, len(xys))
	}
	for i, n := range planned {
		if xys[i].Y != float64(n) {
			t.Errorf("second %d planned %v, want %d", i, xys[i].Y, n)
		}
	}
	p, err := throughputPlot(r)
	if err != nil {
		t.Fatal(err)
	}
	if p.Y.Max < 2500 {
		t.Errorf("y axis ends at %v, below the burst's 2500/s", p.Y.Max)
	}

	// Results written before the schedule was recorded: the average.
	for i := range r.Series {
		r.Series[i].Planned = 0
	}
	xys, name = plannedSeries(r)
	if len(xys) != 2 || xys[0].Y != 1071.43 || !strings.Contains(name, "on average") {
		t.Errorf("fallback %q %v, want a flat line at the average", name, xys)
	}
}

func TestTimeCharts_Title_ShadingOnlyWithFaults(t *testing.T) {
	for _, faults := range [][]FaultWindow{nil, {{Kind: "s3-latency", From: 2, To: 4}}} {
		r := fixture(t)
		r.Faults = faults
		for _, b := range []func(*Results) (*plot.Plot, error){throughputPlot, inFlightPlot, conflictPlot} {
			p, err := b(r)
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Contains(p.Title.Text, "shaded"); got != (len(faults) > 0) {
				t.Errorf("%d faults: title %q", len(faults), p.Title.Text)
			}
		}
	}
}

func TestPollsPlot_Histogram_AxisFitsData(t *testing.T) {
	tests := []struct {
		name     string
		nonzero  map[int]int64
		maxX     float64
		lastTick string
	}{
		{"few polls", map[int]int64{0: 500, 1: 300, 2: 40, 3: 2}, 4, "3"},
		{"overflow bucket used", map[int]int64{0: 500, 1: 300, 32: 1}, 33, "32+"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			counts := make([]int64, 33) // the recorder's histogram: 0..31 and 32+
			for i, n := range tt.nonzero {
				counts[i] = n
			}
			p, err := pollsPlot(&Results{Polls: Polls{Mean: 0.5, Counts: counts}})
			if err != nil {
				t.Fatal(err)
			}
			if p.X.Max > tt.maxX {
				t.Errorf("x axis ends at %v, want at most %v", p.X.Max, tt.maxX)
			}
			got := tickLabels(p.X.Tick.Marker, p.X.Min, p.X.Max)
			if len(got) == 0 || got[len(got)-1] != tt.lastTick {
				t.Errorf("ticks %v, want the last %q", got, tt.lastTick)
			}
		})
	}
}

func TestMemoryPlot_FewSamples_SaysWhy(t *testing.T) {
	for _, n := range []int{3, minMemorySamples} {
		r := &Results{}
		for i := range n {
			r.Memory = append(r.Memory, MemorySample{Second: 2 * float64(i), RSSBytes: 100 << 20})
		}
		p, err := memoryPlot(r)
		if err != nil {
			t.Fatal(err)
		}
		says := strings.Contains(p.X.Label.Text, "only "+strconv.Itoa(n)+" samples")
		if says != (n < minMemorySamples) {
			t.Errorf("%d samples: x label %q", n, p.X.Label.Text)
		}
	}
}

// In sweep charts the offered line is drawn over the achieved one (they
// coincide below the knee), and the verdict marks over every line.
func TestSweepPlot_Fixture_OfferedAndMarksOnTop(t *testing.T) {
	p, err := sweepThroughput(sweepFixture())
	if err != nil {
		t.Fatal(err)
	}
	texts := svgTexts(t, p)
	order := []string{"achieved arrivals", "commits per second", "offered", "pass", "inconclusive", "fail"}
	at := -1
	for _, name := range order {
		i := slices.Index(texts, name)
		if i < 0 || i < at {
			t.Fatalf("legend order %q, want %q in this order (the drawing order)", texts, order)
		}
		at = i
	}
	if g := verdictGlyph(Fail); g.Radius < verdictGlyph(Pass).Radius || g.Color != gateFailColor {
		t.Errorf("fail mark %+v is not larger and red", g)
	}
}
