package report

import (
	"bytes"
	"context"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// chromiumPath is where Debian's chromium package (installed by .ci/run)
// puts the browser.
const chromiumPath = "/usr/bin/chromium"

// visibilityProbe marks, once the page has loaded, whether each element
// with a given id is rendered: non-zero box, not hidden, and for a chart
// its image decoded. The result lands on <body data-visibility="..."> so
// that --dump-dom shows it. The report itself carries no script; the test
// adds this one to a copy.
const visibilityProbe = `<script>
window.addEventListener('load', function () {
  var out = [];
  IDS.forEach(function (id) {
    var el = document.getElementById(id);
    if (!el) { out.push(id + '=missing'); return; }
    var r = el.getBoundingClientRect(), st = getComputedStyle(el);
    var ok = r.width > 0 && r.height > 0 && st.visibility !== 'hidden' && st.display !== 'none';
    el.querySelectorAll('img').forEach(function (img) {
      var ir = img.getBoundingClientRect();
      ok = ok && img.complete && img.naturalWidth > 0 && ir.width > 100 && ir.height > 50;
    });
    out.push(id + '=' + (ok ? 'visible' : 'hidden'));
  });
  document.body.setAttribute('data-visibility', out.join(' '));
});
</script>
`

func chromium(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skipf("%s absent (install Debian's chromium package to run the browser test): %v", chromiumPath, err)
	}
	return chromiumPath
}

// runChromium runs headless Chromium on a local file with extra flags and
// returns its standard output.
func runChromium(t *testing.T, bin, page string, extra ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	args := append([]string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-dev-shm-usage", "--hide-scrollbars",
		"--user-data-dir=" + t.TempDir(),
		// Virtual time lets the load event and image decoding finish
		// before the DOM is dumped or the screenshot taken.
		"--virtual-time-budget=10000",
	}, extra...)
	args = append(args, "file://"+page)
	cmd := exec.CommandContext(ctx, bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, stderr.String())
	}
	return stdout.Bytes()
}

func TestHTML_Chromium_SectionsAndChartsVisible(t *testing.T) {
	bin := chromium(t)
	dir := t.TempDir()
	r := fixture(t)
	if err := WriteAll(dir, r, nil); err != nil {
		t.Fatal(err)
	}
	page, err := os.ReadFile(filepath.Join(dir, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{"summary", "verdict", "gates", "invariants", "scheduler", "rerun", "charts"}
	for _, n := range ChartNames() {
		ids = append(ids, "chart-"+n)
	}
	probe := strings.Replace(visibilityProbe, "IDS", `["`+strings.Join(ids, `","`)+`"]`, 1)
	probed := strings.Replace(string(page), "</body>", probe+"</body>", 1)
	probePath := filepath.Join(dir, "probe.html")
	if err := os.WriteFile(probePath, []byte(probed), 0o644); err != nil {
		t.Fatal(err)
	}

	// The screenshot of this page is TestHTML_Chromium_ChartsLabelled's
	// (faults-report.png): the same fixture, so one Chromium run fewer.
	t.Run("dump-dom", func(t *testing.T) {
		dom := runChromium(t, bin, probePath, "--dump-dom")
		m := regexp.MustCompile(`data-visibility="([^"]*)"`).FindSubmatch(dom)
		if m == nil {
			t.Fatalf("the probe did not run; DOM starts:\n%.500s", dom)
		}
		got := map[string]string{}
		for _, kv := range strings.Fields(string(m[1])) {
			k, v, _ := strings.Cut(kv, "=")
			got[k] = v
		}
		for _, id := range ids {
			if got[id] != "visible" {
				t.Errorf("#%s is %q, want visible", id, got[id])
			}
		}
	})

}

// screenshot renders page in headless Chromium to NAME, under
// $STORMSIM_SCREENSHOTS when set (to keep and look at them) or a
// temporary folder, and checks it minimally: the window's size, and not
// blank.
func screenshot(t *testing.T, bin, page, name string) {
	t.Helper()
	dir := os.Getenv("STORMSIM_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(dir, name)
	runChromium(t, bin, page, "--window-size=1280,4000", "--screenshot="+shot)
	f, err := os.Open(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 1280 || b.Dy() != 4000 {
		t.Errorf("screenshot is %dx%d, want 1280x4000", b.Dx(), b.Dy())
	}
	if frac := inkShare(img); frac < 0.02 {
		t.Errorf("screenshot nearly blank: %.4f of pixels differ from the background", frac)
	}
	t.Logf("screenshot: %s", shot)
}
