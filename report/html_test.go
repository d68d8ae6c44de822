package report

import (
	"bytes"
	"html"
	"regexp"
	"strings"
	"testing"
)

// placeholderCharts stand in for rendered charts so the HTML golden file
// checks structure, not pixels.
func placeholderCharts() map[string][]byte {
	m := map[string][]byte{}
	for _, n := range ChartNames() {
		m[n] = []byte(`<svg xmlns="http://www.w3.org/2000/svg" width="8" height="4"><rect width="8" height="4"/></svg>`)
	}
	m["polls"] = []byte("\x89PNG\r\n\x1a\nnot-really-a-png")
	return m
}

func TestHTML_Fixture_Golden(t *testing.T) {
	var buf bytes.Buffer
	if err := HTML(&buf, fixture(t), placeholderCharts()); err != nil {
		t.Fatal(err)
	}
	golden(t, "report.golden.html", buf.Bytes())
}

func TestHTML_Fixture_Sections(t *testing.T) {
	var buf bytes.Buffer
	if err := HTML(&buf, fixture(t), placeholderCharts()); err != nil {
		t.Fatal(err)
	}
	page := html.UnescapeString(buf.String()) // "+" in data URIs is written &#43;
	ids := []string{"verdict", "summary", "gates", "invariants", "scheduler", "rerun", "charts", "text-summary"}
	for _, n := range ChartNames() {
		ids = append(ids, "chart-"+n)
	}
	for _, id := range ids {
		if !strings.Contains(page, `id="`+id+`"`) {
			t.Errorf("no element id=%q", id)
		}
	}
	for _, want := range []string{"u-000017", "u-004242", "simrun --seed 42 --strategy lock scenarios/burst.yaml",
		"data:image/svg+xml;base64,", "data:image/png;base64,", "latency.p99 < 2s"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	// Self-contained: no scripts, stylesheets or images from elsewhere.
	external := regexp.MustCompile(`(?i)<script|<link|(src|href)="(https?:)?//`)
	if m := external.FindString(page); m != "" {
		t.Errorf("page references an external asset: %q", m)
	}
	if strings.Contains(buf.String(), "<code>latency.p99 < 2s") {
		t.Error("expression not escaped")
	}
	if strings.Contains(page, "ZgotmplZ") {
		t.Error("html/template rejected a value (ZgotmplZ)")
	}
}

func TestHTML_NoScheduler_SectionAbsent(t *testing.T) {
	r := fixture(t)
	r.Scheduler = nil
	var buf bytes.Buffer
	if err := HTML(&buf, r, nil); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), `id="scheduler"`) {
		t.Error("scheduler section without a scheduler")
	}
}

func TestHTML_BadChart_Error(t *testing.T) {
	err := HTML(&bytes.Buffer{}, fixture(t), map[string][]byte{"latency": []byte("GIF89a")})
	if err == nil || !strings.Contains(err.Error(), "latency") {
		t.Fatalf("err = %v, want an error naming the chart", err)
	}
}
