package report

import (
	"bytes"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCharts_Fixture_AllDrawn(t *testing.T) {
	charts, err := Charts(fixture(t))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range charts {
		names = append(names, c.Name)
		checkPNG(t, c.Name, c.PNG)
		if !bytes.Contains(c.SVG, []byte("<svg")) || len(c.SVG) < 1000 {
			t.Errorf("%s: SVG looks empty (%d bytes)", c.Name, len(c.SVG))
		}
		if c.Title == "" {
			t.Errorf("%s: no title", c.Name)
		}
	}
	if got, want := strings.Join(names, ","), strings.Join(ChartNames(), ","); got != want {
		t.Errorf("charts = %s, want %s", got, want)
	}
}

// checkPNG decodes a chart and checks its size and that it is not blank:
// a chart with axes and data has many pixels that differ from the corner.
func checkPNG(t *testing.T, name string, data []byte) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("%s: decode png: %v", name, err)
	}
	b := img.Bounds()
	if b.Dx() < 400 || b.Dy() < 200 {
		t.Errorf("%s: png is %dx%d, want at least 400x200", name, b.Dx(), b.Dy())
	}
	if frac := inkShare(img); frac < 0.01 {
		t.Errorf("%s: png nearly blank (%.4f of pixels differ from background)", name, frac)
	}
}

func inkShare(img image.Image) float64 {
	b := img.Bounds()
	bg := img.At(b.Min.X, b.Min.Y)
	br, bgG, bb, _ := bg.RGBA()
	var ink, all int
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, _ := img.At(x, y).RGBA()
			if r != br || g != bgG || bl != bb {
				ink++
			}
			all++
		}
	}
	return float64(ink) / float64(all)
}

func TestCharts_MissingData_Skipped(t *testing.T) {
	tests := []struct {
		name   string
		strip  func(r *Results)
		absent []string
	}{
		{"no scheduler", func(r *Results) { r.Scheduler = nil }, []string{"scheduler-lateness"}},
		{"no series", func(r *Results) { r.Series = nil }, []string{"throughput", "inflight", "conflicts"}},
		{"no memory samples", func(r *Results) { r.Memory = nil }, []string{"memory"}},
		{"no poll histogram", func(r *Results) { r.Polls.Counts = nil }, []string{"polls"}},
		{"no spectrum", func(r *Results) {
			r.Latency.Percentiles = nil
			r.Phases = PhaseLatency{}
		}, []string{"latency"}},
		{"empty results", func(r *Results) { *r = Results{} }, ChartNames()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := fixture(t)
			tt.strip(r)
			charts, err := Charts(r)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range charts {
				for _, a := range tt.absent {
					if c.Name == a {
						t.Errorf("chart %s drawn without its data", a)
					}
				}
			}
			if want := len(ChartNames()) - len(tt.absent); len(charts) != want {
				t.Errorf("got %d charts, want %d", len(charts), want)
			}
		})
	}
}

func TestWritePlots_Fixture_Files(t *testing.T) {
	dir := t.TempDir()
	paths, err := WritePlots(dir, fixture(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) != 2*len(ChartNames()) {
		t.Fatalf("wrote %d files, want %d", len(paths), 2*len(ChartNames()))
	}
	for _, p := range paths {
		if filepath.Dir(p) != filepath.Join(dir, "plots") {
			t.Errorf("%s not under plots/", p)
		}
		fi, err := os.Stat(p)
		if err != nil || fi.Size() == 0 {
			t.Errorf("%s: empty or missing (%v)", p, err)
		}
	}
}

func TestLatenessBins_Uniform(t *testing.T) {
	// A uniform 0..60 s spectrum must give equal bins of n*w/60.
	var spectrum [][2]float64
	for p := 0.0; p <= 100; p += 10 {
		spectrum = append(spectrum, [2]float64{p, 0.6 * p})
	}
	bins := latenessBins(spectrum, 1200, 5)
	if len(bins) != 12 {
		t.Fatalf("got %d bins, want 12", len(bins))
	}
	for _, b := range bins {
		if d := b.Weight - 100; d > 1e-6 || d < -1e-6 {
			t.Errorf("bin %v..%v weight %v, want 100", b.Min, b.Max, b.Weight)
		}
	}
}

func TestNines(t *testing.T) {
	tests := []struct{ pct, want float64 }{{0, 0}, {90, 1}, {99, 2}, {99.9, 3}, {100, maxNines}}
	for _, tt := range tests {
		if got := nines(tt.pct); got-tt.want > 1e-9 || tt.want-got > 1e-9 {
			t.Errorf("nines(%v) = %v, want %v", tt.pct, got, tt.want)
		}
	}
}
