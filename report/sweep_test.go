package report

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// sweepFixture is a rate sweep whose knee is at 400/s: 500 fell behind
// (inconclusive) and 600 failed a gate.
func sweepFixture() *Sweep {
	s := &Sweep{Scenario: "steady", Param: "rate", Values: "200..600x5", Seed: 7, DemandRises: true,
		Started: time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC), DurationSeconds: 123.4,
		Rerun: "simrun sweep --seed 7 scenarios/steady.yaml --param rate=200..600x5", Currency: "USD", PricesAsOf: "2026-11-26"}
	verdicts := []string{Pass, Pass, Pass, Inconclusive, Fail}
	for i, v := range verdicts {
		rate := 200 + 100*float64(i)
		p := SweepPoint{Index: i, Value: rate, Dir: "point-0" + string(rune('0'+i)), Verdict: v, Reasons: []string{},
			OfferedRate: rate, AchievedRate: rate * (1 - 0.05*float64(max(i-2, 0))), AchievedRatio: 1,
			CommitsPerSecond: rate * 0.9, Uploads: int64(rate * 20), LatencyP50: 0.02 * float64(i+1),
			LatencyP99: 0.1 * float64(i*i+1), PollsMean: 0.5 + 0.2*float64(i), ConflictRate: 0.01 * float64(i),
			CostPer1000: 0.012 - 0.0005*float64(i)}
		switch v {
		case Inconclusive:
			p.Reasons = []string{"planned load not reached: achieved ratio 0.85 < 0.90"}
		case Fail:
			p.Reasons, p.FailedGates = []string{`gate "latency.p99 < 1s": measured 1.7`}, 1
		}
		s.Points = append(s.Points, p)
	}
	s.Finish()
	return s
}

func TestSweep_Finish_Knee(t *testing.T) {
	mk := func(demandRises bool, vals []float64, verdicts string) *Sweep {
		s := &Sweep{Param: "x", DemandRises: demandRises}
		for i, v := range vals {
			p := SweepPoint{Index: i, Value: v, OfferedRate: 100}
			switch verdicts[i] {
			case 'p':
				p.Verdict = Pass
			case 'f':
				p.Verdict = Fail
			case 'i':
				p.Verdict = Inconclusive
			case 'e':
				p.Verdict, p.Error = Inconclusive, "boom"
			}
			s.Points = append(s.Points, p)
		}
		s.Finish()
		return s
	}
	tests := []struct {
		name      string
		s         *Sweep
		found     bool
		value     float64
		next      int
		recovered []int
		text      string
	}{
		{"knee in the middle", mk(true, []float64{1, 2, 3, 4}, "ppfi"), true, 2, 2, nil, "knee at x=2"},
		{"every point passed", mk(true, []float64{1, 2, 3}, "ppp"), true, 3, -1, nil, "every point passed: the knee lies beyond x=3"},
		{"first point failed", mk(true, []float64{1, 2}, "fp"), false, 0, 0, []int{1}, "no knee in range: the least demanding point, x=1"},
		{"passes again past the failure", mk(true, []float64{1, 2, 3, 4}, "pipp"), true, 1, 1, []int{2, 3}, "passed again at x=3"},
		{"a point that could not run ends the walk", mk(true, []float64{1, 2, 3}, "pep"), true, 1, 1, []int{2}, "was inconclusive: boom"},
		{"listed out of order", mk(true, []float64{3, 1, 2}, "fpp"), true, 2, 0, nil, "knee at x=2"},
		{"capacity parameter: smaller is harder", mk(false, []float64{1, 2, 4, 8}, "fipp"), true, 4, 1, nil, "knee at x=4"},
		{"no points", mk(true, nil, ""), false, 0, -1, nil, "no point ran"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := tt.s.Knee
			if k.Found != tt.found || tt.found && k.Value != tt.value || k.NextIndex != tt.next {
				t.Errorf("knee %+v, want found %v value %v next %d", k, tt.found, tt.value, tt.next)
			}
			if !tt.found && k.Index != -1 {
				t.Errorf("index %d without a knee, want -1", k.Index)
			}
			if fmt.Sprint(k.Recovered) != fmt.Sprint(tt.recovered) {
				t.Errorf("recovered %v, want %v", k.Recovered, tt.recovered)
			}
			if !strings.Contains(k.Text, tt.text) {
				t.Errorf("text %q, want it to contain %q", k.Text, tt.text)
			}
		})
	}
}

func TestSweep_Finish_XAxis(t *testing.T) {
	s := sweepFixture()
	if s.XAxis != "offered_rate" {
		t.Errorf("rate sweep: x axis %q, want offered_rate", s.XAxis)
	}
	// Concurrency leaves the offered load alone: plot against the value.
	c := &Sweep{Param: "coordinator.concurrency", Points: []SweepPoint{
		{Index: 0, Value: 8, OfferedRate: 300, Verdict: Pass}, {Index: 1, Value: 16, OfferedRate: 300, Verdict: Pass}}}
	c.Finish()
	if c.XAxis != "value" {
		t.Errorf("concurrency sweep: x axis %q, want value", c.XAxis)
	}
}

func TestSweep_KneeText_Fixture(t *testing.T) {
	k := sweepFixture().Knee
	want := "knee at rate=400 (offered 400/s, achieved 400/s): the most demanding point where gates and invariants hold; " +
		"next, rate=500 (offered 500/s, achieved 475/s) was inconclusive: planned load not reached: achieved ratio 0.85 < 0.90"
	if k.Text != want || !k.Found || k.Index != 2 || k.OfferedRate != 400 {
		t.Errorf("knee %+v\nwant text %q", k, want)
	}
}

func TestWriteSweep_FilesAndRoundTrip(t *testing.T) {
	dir := t.TempDir()
	s := sweepFixture()
	if err := WriteSweep(dir, s); err != nil {
		t.Fatal(err)
	}
	back, err := ReadSweep(filepath.Join(dir, "sweep.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Points) != 5 || back.Knee.Value != 400 || back.XAxis != "offered_rate" || back.Points[4].FailedGates != 1 {
		t.Errorf("sweep.json round trip: %+v", back)
	}
	for _, c := range sweepCharts {
		data, err := os.ReadFile(filepath.Join(dir, "plots", c.name+".png"))
		if err != nil {
			t.Fatal(err)
		}
		checkPNG(t, c.name, data)
		if svg, err := os.ReadFile(filepath.Join(dir, "plots", c.name+".svg")); err != nil || !bytes.Contains(svg, []byte("<svg")) {
			t.Errorf("%s.svg: %v", c.name, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "sweep.html")); err != nil {
		t.Error(err)
	}
}

// TestSweepHTML_Structure checks the page is self-contained and carries
// the knee, one row per point (linking to its report) and every chart.
func TestSweepHTML_Structure(t *testing.T) {
	s := sweepFixture()
	charts, err := SweepCharts(s)
	if err != nil {
		t.Fatal(err)
	}
	if len(charts) != len(sweepCharts) {
		t.Fatalf("%d charts, want %d", len(charts), len(sweepCharts))
	}
	var buf bytes.Buffer
	if err := SweepHTML(&buf, s, charts); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	for _, id := range []string{"header", "knee", "knee-badge", "knee-text", "points", "charts", "rerun"} {
		if !strings.Contains(page, `id="`+id+`"`) {
			t.Errorf("no element with id %q", id)
		}
	}
	for _, c := range sweepCharts {
		// html/template writes "+" in attributes as "&#43;".
		re := regexp.MustCompile(`<figure id="chart-` + c.name + `">\s*<img src="data:image/svg(\+|&#43;)xml;base64,([A-Za-z0-9/=]|&#43;){1000,}"`)
		if !re.MatchString(page) {
			t.Errorf("chart %s is not inlined as a data: URI", c.name)
		}
	}
	// Self-contained: nothing is fetched from elsewhere.
	if m := regexp.MustCompile(`(?i)(src|href)="(https?:|//)[^"]*"|<link |<script`).FindString(page); m != "" {
		t.Errorf("external reference %q", m)
	}
	if got := strings.Count(page, `<a href="point-0`); got != 5 {
		t.Errorf("%d links to point reports, want 5", got)
	}
	if !strings.Contains(page, `<tr class="knee"><td class="num"><a href="point-02/report.html">400</a>`) {
		t.Error("the knee row (rate 400) is not marked")
	}
	if !strings.Contains(page, "KNEE rate = 400") || !strings.Contains(page, "planned load not reached") {
		t.Error("knee badge or the next point's reason missing")
	}
}

func TestSweepHTML_Golden(t *testing.T) {
	var buf bytes.Buffer
	if err := SweepHTML(&buf, sweepFixture(), nil); err != nil {
		t.Fatal(err)
	}
	golden(t, "sweep.golden.html", buf.Bytes())
}

func TestSweepSummary(t *testing.T) {
	var buf bytes.Buffer
	if err := SweepSummary(&buf, sweepFixture()); err != nil {
		t.Fatal(err)
	}
	golden(t, "sweep-summary.golden", buf.Bytes())
}

func TestSweepHTML_Chromium_Visible(t *testing.T) {
	bin := chromium(t)
	dir := t.TempDir()
	if err := WriteSweep(dir, sweepFixture()); err != nil {
		t.Fatal(err)
	}
	page, err := os.ReadFile(filepath.Join(dir, "sweep.html"))
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{"knee", "points", "charts"}
	for _, c := range sweepCharts {
		ids = append(ids, "chart-"+c.name)
	}
	probe := strings.Replace(visibilityProbe, "IDS", `["`+strings.Join(ids, `","`)+`"]`, 1)
	probePath := filepath.Join(dir, "probe.html")
	if err := os.WriteFile(probePath, []byte(strings.Replace(string(page), "</body>", probe+"</body>", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	dom := runChromium(t, bin, probePath, "--dump-dom")
	m := regexp.MustCompile(`data-visibility="([^"]*)"`).FindSubmatch(dom)
	if m == nil {
		t.Fatalf("the probe did not run; DOM starts:\n%.500s", dom)
	}
	for _, kv := range strings.Fields(string(m[1])) {
		if id, v, _ := strings.Cut(kv, "="); v != "visible" {
			t.Errorf("#%s is %q, want visible", id, v)
		}
	}
	screenshot(t, bin, filepath.Join(dir, "sweep.html"), "sweep.png")
}
