package report

import (
	"bytes"
	"encoding/json"
	"html"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// textsProbe collects, once the page has loaded, the texts drawn in each
// chart as the browser parses it: every figure's image is the chart's SVG
// as a data: URI, read back with DOMParser. The result lands in
// <pre id="chart-texts"> as JSON so that --dump-dom shows it.
const textsProbe = `<pre id="chart-texts"></pre><script>
window.addEventListener('load', function () {
  var out = {};
  document.querySelectorAll('figure[id^="chart-"] img').forEach(function (img) {
    var name = img.closest('figure').id.slice(6), m = /^data:image\/svg\+xml;base64,(.*)$/.exec(img.src);
    if (!m) { out[name] = ['not an SVG data URI']; return; }
    var bytes = Uint8Array.from(atob(m[1]), function (c) { return c.charCodeAt(0); });
    var doc = new DOMParser().parseFromString(new TextDecoder().decode(bytes), 'image/svg+xml');
    var ok = img.complete && img.naturalWidth > 0;
    out[name] = [ok ? 'decoded' : 'NOT DECODED'].concat(Array.from(doc.querySelectorAll('text'), function (t) { return t.textContent; }));
  });
  document.getElementById('chart-texts').textContent = JSON.stringify(out);
});
</script>
`

var chartTextsOut = regexp.MustCompile(`<pre id="chart-texts">([^<]*)</pre>`)

// browserChartTexts opens page in headless Chromium and returns each
// chart's texts as the browser read them.
func browserChartTexts(t *testing.T, bin, page string) map[string][]string {
	t.Helper()
	src, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	probed := filepath.Join(t.TempDir(), "probe.html")
	if err := os.WriteFile(probed, []byte(strings.Replace(string(src), "</body>", textsProbe+"</body>", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	m := chartTextsOut.FindSubmatch(runChromium(t, bin, probed, "--dump-dom"))
	if m == nil || len(m[1]) == 0 {
		t.Fatal("the probe did not run in the browser")
	}
	var out map[string][]string
	if err := json.Unmarshal([]byte(html.UnescapeString(string(m[1]))), &out); err != nil {
		t.Fatal(err)
	}
	for name, texts := range out {
		if len(texts) == 0 || texts[0] != "decoded" {
			t.Errorf("chart %s: the browser did not decode its image", name)
		}
	}
	return out
}

// tickLike matches an axis tick label: a number, maybe with a unit or a
// suffix ("99.9", "1ms", "7+", "0.002").
var tickLike = regexp.MustCompile(`^-?[0-9][0-9.,]*(\+|%|µs|ms|s|m|h)?$`)

// checkLabelled checks one chart as the browser read it: a title, both
// axis labels of the chart as built, at least three tick labels per axis
// (six in all), and every wanted legend entry.
func checkLabelled(t *testing.T, name string, texts []string, xLabel, yLabel string, legend ...string) {
	t.Helper()
	if len(texts) < 2 || texts[1] == "" {
		t.Errorf("chart %s has no title: %q", name, texts)
		return
	}
	for _, l := range append([]string{xLabel, yLabel}, legend...) {
		if l == "" || !slices.Contains(texts, l) {
			t.Errorf("chart %s lacks %q: %q", name, l, texts)
		}
	}
	ticks := 0
	for _, s := range texts {
		if tickLike.MatchString(s) {
			ticks++
		}
	}
	if ticks < 6 {
		t.Errorf("chart %s has %d tick labels, want >= 6 (3 per axis): %q", name, ticks, texts)
	}
}

// withPrefix returns the texts that start with prefix.
func withPrefix(texts []string, prefix string) []string {
	var out []string
	for _, s := range texts {
		if strings.HasPrefix(s, prefix) {
			out = append(out, s)
		}
	}
	return out
}

// TestHTML_Chromium_ChartsLabelled renders report.html for a burst-like
// run and for a run with faults, and sweep.html, in headless Chromium;
// takes screenshots; and checks what the browser shows in each chart:
// labelled axes with ticks, gate thresholds on the charts they judge, and
// legends (fault windows only where faults ran).
func TestHTML_Chromium_ChartsLabelled(t *testing.T) {
	bin := chromium(t)
	burst := fixture(t)
	burst.Faults = nil // the same run, as burst.yaml runs it: no faults
	for _, tc := range []struct {
		name string
		r    *Results
	}{{"burst", burst}, {"faults", fixture(t)}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := WriteAll(dir, tc.r, nil); err != nil {
				t.Fatal(err)
			}
			page := filepath.Join(dir, "report.html")
			got := browserChartTexts(t, bin, page)
			for _, s := range chartSpecs {
				p, err := s.build(tc.r)
				if err != nil {
					continue // no data for this chart
				}
				texts, ok := got[s.name]
				if !ok {
					t.Errorf("chart %s is not in report.html", s.name)
					continue
				}
				checkLabelled(t, s.name, texts, p.X.Label.Text, p.Y.Label.Text)
			}
			// Gate thresholds sit on the charts they judge.
			for chart, gate := range map[string]string{
				"latency":            "gate latency.p99 < 2s: ",
				"polls":              "gate polls.mean <= 1.2: ",
				"throughput":         "gate throughput.achieved_ratio >= 0.95: ",
				"scheduler-lateness": "gate scheduler.lateness.p99 <= 75s: ",
			} {
				if len(withPrefix(got[chart], gate)) != 1 {
					t.Errorf("chart %s does not draw %q: %q", chart, gate, got[chart])
				}
			}
			checkLabelled(t, "throughput legend", got["throughput"], "time into the run (s)", "uploads per second", "started", "committed", "conflict")
			faultLegend := withPrefix(got["throughput"], "fault ")
			shaded := strings.Contains(got["throughput"][1], "injected faults")
			if tc.r.Faults == nil && (len(faultLegend) > 0 || shaded) {
				t.Errorf("a run without faults shows fault windows: title %q, legend %q", got["throughput"][1], faultLegend)
			}
			if tc.r.Faults != nil && (len(faultLegend) != len(tc.r.Faults) || !shaded) {
				t.Errorf("a run with %d faults shows legend %q, title %q", len(tc.r.Faults), faultLegend, got["throughput"][1])
			}
			screenshot(t, bin, page, tc.name+"-report.png")
		})
	}
	t.Run("sweep", func(t *testing.T) {
		s := sweepFixture()
		charts, err := SweepCharts(s)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := SweepHTML(&buf, s, charts); err != nil {
			t.Fatal(err)
		}
		page := filepath.Join(t.TempDir(), "sweep.html")
		if err := os.WriteFile(page, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		got := browserChartTexts(t, bin, page)
		if len(got) != len(charts) {
			t.Errorf("the browser saw %d sweep charts, want %d", len(got), len(charts))
		}
		for _, c := range sweepCharts {
			p, err := c.build(s)
			if err != nil {
				t.Fatalf("sweep chart %s: %v", c.name, err)
			}
			texts, ok := got[c.name]
			if !ok {
				t.Errorf("sweep chart %s is not in sweep.html", c.name)
				continue
			}
			checkLabelled(t, c.name, texts, p.X.Label.Text, p.Y.Label.Text, "pass", "fail", "knee")
		}
		checkLabelled(t, "sweep-throughput legend", got["sweep-throughput"], "offered load (uploads/s)", "uploads per second", "offered")
		screenshot(t, bin, page, "sweep-charts.png")
	})
}
