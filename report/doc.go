// Package report turns a run's Results into what people and CI read:
// results.json, the terminal summary, junit.xml, Prometheus text
// exposition, charts (PNG and SVG, drawn with gonum/plot), a
// self-contained report.html and a side-by-side comparison of two runs.
//
// The engine emits data and never imports this package; report only reads
// Results (the results.json contract, see results.go) and a
// prometheus.Gatherer. Every renderer writes to an io.Writer, so the CLI,
// tests and outside tools can aim it anywhere; WriteAll writes the usual
// files of a run directory in one call:
//
//	results.json   WriteJSON (read back with ReadResults)
//	metrics.prom   WriteMetrics
//	junit.xml      JUnit
//	plots/*.png    WritePlots (also .svg; Charts renders them in memory)
//	report.html    HTML
//
// Summary prints the table simrun shows at the end of a run and Compare
// sets two runs side by side (baseline versus candidate).
package report
