package report

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/prometheus/client_golang/prometheus"
)

// WriteAll writes a run directory: results.json, metrics.prom (when g is
// not nil), junit.xml, plots/*.png and *.svg, and report.html. The charts
// are drawn once and inlined into the HTML as SVG. results.json is written
// first so that a failure later still leaves the contract on disk.
func WriteAll(dir string, r *Results, g prometheus.Gatherer) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("write run dir: %w", err)
	}
	if err := writeFile(filepath.Join(dir, "results.json"), func(w io.Writer) error { return WriteJSON(w, r) }); err != nil {
		return err
	}
	if g != nil {
		if err := writeFile(filepath.Join(dir, "metrics.prom"), func(w io.Writer) error { return WriteMetrics(w, g) }); err != nil {
			return err
		}
	}
	if err := writeFile(filepath.Join(dir, "junit.xml"), func(w io.Writer) error { return JUnit(w, r) }); err != nil {
		return err
	}
	charts, err := Charts(r)
	if err != nil {
		return err
	}
	if _, err := writeCharts(dir, charts); err != nil {
		return err
	}
	svgs := make(map[string][]byte, len(charts))
	for _, c := range charts {
		svgs[c.Name] = c.SVG
	}
	return writeFile(filepath.Join(dir, "report.html"), func(w io.Writer) error { return HTML(w, r, svgs) })
}

// writeFile renders into memory and writes the file only when rendering
// succeeded, so a failed renderer leaves no half-written file behind.
func writeFile(path string, render func(io.Writer) error) error {
	var buf bytes.Buffer
	if err := render(&buf); err != nil {
		return err
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	return nil
}
