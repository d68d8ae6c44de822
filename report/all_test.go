package report

import (
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stormsim/stormsim/sim/metrics"
)

func TestWriteAll_Fixture_Files(t *testing.T) {
	dir := t.TempDir()
	reg := prometheus.NewRegistry()
	metrics.New(reg)
	if err := WriteAll(dir, fixture(t), reg); err != nil {
		t.Fatal(err)
	}
	want := []string{"results.json", "metrics.prom", "junit.xml", "report.html"}
	for _, n := range ChartNames() {
		want = append(want, filepath.Join("plots", n+".png"), filepath.Join("plots", n+".svg"))
	}
	for _, name := range want {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || fi.Size() == 0 {
			t.Errorf("%s missing or empty (%v)", name, err)
		}
	}
	if _, err := ReadResults(filepath.Join(dir, "results.json")); err != nil {
		t.Error(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "junit.xml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc junitSuites
	if err := xml.Unmarshal(data, &doc); err != nil {
		t.Errorf("junit.xml: %v", err)
	}
	page, err := os.ReadFile(filepath.Join(dir, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(page), "data:image/svg"); n != len(ChartNames()) {
		t.Errorf("report.html inlines %d charts, want %d", n, len(ChartNames()))
	}
}

func TestWriteAll_NoGatherer_NoMetricsFile(t *testing.T) {
	dir := t.TempDir()
	if err := WriteAll(dir, &Results{Verdict: Pass}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "metrics.prom")); !os.IsNotExist(err) {
		t.Errorf("metrics.prom written without a gatherer (%v)", err)
	}
	for _, name := range []string{"results.json", "junit.xml", "report.html"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Error(err)
		}
	}
}
