package report

import (
	"fmt"
	"html/template"
	"io"
	"math"
	"strings"
)

// better says which direction of change is an improvement.
type better int

const (
	neutral better = iota
	higher
	lower
)

// figureKind picks the formatting of a compared figure.
type figureKind int

const (
	count figureKind = iota
	ratio
	secs
	plain
	size
	cash
)

// comparison is one key figure of two runs.
type comparison struct {
	Name       string
	Base, Cand float64
	kind       figureKind
	better     better
}

// compareFigures lists the key figures Compare sets side by side.
func compareFigures(b, c *Results) []comparison {
	f := []comparison{
		{"uploads total", float64(b.Uploads.Total), float64(c.Uploads.Total), count, neutral},
		{"committed", float64(b.Uploads.Committed), float64(c.Uploads.Committed), count, neutral},
		{"conflict rate", conflictRate(b.Uploads), conflictRate(c.Uploads), ratio, neutral},
		{"errors", float64(b.Uploads.Error), float64(c.Uploads.Error), count, lower},
		{"unknown", float64(b.Uploads.Unknown), float64(c.Uploads.Unknown), count, lower},
		{"polls mean", b.Polls.Mean, c.Polls.Mean, plain, lower},
		{"polls p99", b.Polls.P99, c.Polls.P99, plain, lower},
		{"resolved by push", b.Polls.ZeroShare, c.Polls.ZeroShare, ratio, higher},
		{"latency p50", b.Latency.P50, c.Latency.P50, secs, lower},
		{"latency p90", b.Latency.P90, c.Latency.P90, secs, lower},
		{"latency p99", b.Latency.P99, c.Latency.P99, secs, lower},
		{"latency p99.9", b.Latency.P999, c.Latency.P999, secs, lower},
		{"latency max", b.Latency.Max, c.Latency.Max, secs, lower},
		{"planned rate /s", b.Throughput.PlannedRate, c.Throughput.PlannedRate, plain, neutral},
		{"achieved rate /s", b.Throughput.AchievedRate, c.Throughput.AchievedRate, plain, higher},
		{"achieved ratio", b.Throughput.AchievedRatio, c.Throughput.AchievedRatio, plain, higher},
		{"commits /s", b.Throughput.CommitsPerSecond, c.Throughput.CommitsPerSecond, plain, higher},
		{"invariant violations", float64(violations(b)), float64(violations(c)), count, lower},
		{"gates failed", float64(failedGates(b)), float64(failedGates(c)), count, lower},
	}
	// Optional blocks are compared only when both runs have them: a zero
	// standing in for a missing block would read as a change.
	if bs, cs := b.Scheduler, c.Scheduler; bs != nil && cs != nil {
		f = append(f,
			comparison{"sched lateness mean", bs.Lateness.Mean, cs.Lateness.Mean, secs, lower},
			comparison{"sched lateness p99", bs.Lateness.P99, cs.Lateness.P99, secs, lower},
			comparison{"sched early", float64(bs.Early), float64(cs.Early), count, lower},
			comparison{"sched missed", float64(bs.Missed), float64(cs.Missed), count, lower},
			comparison{"sched invocations", float64(bs.Invocations), float64(cs.Invocations), count, lower},
		)
	}
	if bh, ch := b.Harness, c.Harness; bh != nil && ch != nil {
		f = append(f,
			comparison{"harness cpu", bh.CPUSeconds, ch.CPUSeconds, secs, lower},
			comparison{"harness max rss", float64(bh.MaxRSSBytes), float64(ch.MaxRSSBytes), size, lower},
			comparison{"redis calls/upload", bh.RedisCallsPerUpload, ch.RedisCallsPerUpload, plain, lower},
			comparison{"s3 calls/upload", bh.S3CallsPerUpload, ch.S3CallsPerUpload, plain, lower},
		)
	}
	if b.Cost != nil && c.Cost != nil {
		f = append(f, comparison{"cost per 1,000 uploads", b.Cost.Per1000, c.Cost.Per1000, cash, lower})
	}
	return f
}

func violations(r *Results) int {
	n := 0
	for _, inv := range r.Invariants {
		n += inv.Violations
	}
	return n
}

func failedGates(r *Results) int {
	n := 0
	for _, g := range r.Gates {
		if !g.OK && !g.Inconclusive {
			n++
		}
	}
	return n
}

func (c comparison) format(v float64) string {
	switch c.kind {
	case ratio:
		return percent(v)
	case secs:
		return seconds(v)
	case size:
		return bytesIEC(int64(v))
	case cash:
		return money(v)
	default:
		return num(round2(v))
	}
}

// delta is the candidate minus the baseline, in the figure's own units.
func (c comparison) delta() string {
	d := c.Cand - c.Base
	if d == 0 {
		return "="
	}
	sign := "+"
	if d < 0 {
		sign = "-"
	}
	if c.kind == ratio {
		return fmt.Sprintf("%s%.1fpp", sign, math.Abs(100*d)) // percentage points
	}
	return sign + c.format(math.Abs(d))
}

// change is the relative change, empty when the baseline is zero.
func (c comparison) change() string {
	if c.Base == 0 || c.Cand == c.Base {
		return ""
	}
	return fmt.Sprintf("%+.1f%%", 100*(c.Cand-c.Base)/math.Abs(c.Base))
}

// verdict says whether the change is an improvement. Changes under 1% of
// the baseline are noise in a load test and are not judged.
func (c comparison) verdict() string {
	d := c.Cand - c.Base
	if c.better == neutral || d == 0 || (c.Base != 0 && math.Abs(d/c.Base) < 0.01) {
		return ""
	}
	if (d > 0) == (c.better == higher) {
		return "better"
	}
	return "worse"
}

// notComparable says why two runs' figures cannot be judged against each
// other: under another scenario, planned rate or workload, a lower
// latency or a higher rate says nothing about the system. The strategy
// may differ: comparing strategies on one workload is what Compare is for.
func notComparable(b, c *Results) []string {
	var why []string
	if b.Scenario != c.Scenario {
		why = append(why, fmt.Sprintf("different scenarios (%s vs %s)", orDash(b.Scenario), orDash(c.Scenario)))
	}
	if pb, pc := b.Throughput.PlannedRate, c.Throughput.PlannedRate; math.Abs(pb-pc) > 0.01*math.Max(math.Abs(pb), math.Abs(pc)) {
		why = append(why, fmt.Sprintf("different planned rates (%s/s vs %s/s)", num(round2(pb)), num(round2(pc))))
	}
	switch {
	case b.WorkloadHash != "" && c.WorkloadHash != "" && b.WorkloadHash != c.WorkloadHash:
		why = append(why, fmt.Sprintf("different workloads (hash %s vs %s, seed %d vs %d)",
			shortHash(b.WorkloadHash), shortHash(c.WorkloadHash), b.Seed, c.Seed))
	case (b.WorkloadHash == "" || c.WorkloadHash == "") && b.Seed != c.Seed:
		why = append(why, fmt.Sprintf("different seeds (%d vs %d)", b.Seed, c.Seed))
	}
	return why
}

// notComparableLine is the sentence Compare prints instead of judging.
func notComparableLine(why []string) string {
	return "NOT COMPARABLE: " + strings.Join(why, ", ") +
		". The figures are shown side by side but not judged better or worse; rerun both with the same scenario, rate and seed to compare."
}

// Compare writes a side-by-side comparison of a baseline and a candidate
// run: verdicts, then each key figure with its delta, relative change and
// whether the change is better or worse.
func Compare(w io.Writer, base, cand *Results) error {
	s := &sumWriter{w: w}
	s.table([][]string{
		{"", "baseline", "candidate"},
		{"scenario", orDash(base.Scenario), orDash(cand.Scenario)},
		{"strategy", orDash(base.Strategy), orDash(cand.Strategy)},
		{"seed", fmt.Sprint(base.Seed), fmt.Sprint(cand.Seed)},
		{"workload", orDash(shortHash(base.WorkloadHash)), orDash(shortHash(cand.WorkloadHash))},
		{"verdict", strings.ToUpper(orDash(base.Verdict)), strings.ToUpper(orDash(cand.Verdict))},
	})
	why := notComparable(base, cand)
	if len(why) > 0 {
		s.printf("\n%s\n", notComparableLine(why))
	}
	s.printf("\n")
	rows := [][]string{{"figure", "baseline", "candidate", "delta", "change", ""}}
	for _, c := range compareFigures(base, cand) {
		v := c.verdict()
		if len(why) > 0 {
			v = ""
		}
		rows = append(rows, []string{c.Name, c.format(c.Base), c.format(c.Cand), c.delta(), c.change(), v})
	}
	s.table(rows)
	if s.err != nil {
		return fmt.Errorf("write comparison: %w", s.err)
	}
	return nil
}

var compareTemplate = template.Must(template.New("compare").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>stormsim comparison: {{.Base.Scenario}} vs {{.Cand.Scenario}}</title>
<style>
body { font: 15px/1.45 system-ui, sans-serif; color: #1d2530; margin: 0 auto; max-width: 1000px; padding: 1.5em; }
table { border-collapse: collapse; }
th, td { text-align: left; padding: .25em 1em .25em 0; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tbody tr { border-top: 1px solid #eef1f4; }
.better { color: #1a7f37; font-weight: 600; } .worse { color: #cf222e; font-weight: 700; }
</style>
</head>
<body>
<h1>Baseline vs candidate</h1>
<section id="runs">
<table>
<thead><tr><th></th><th>baseline</th><th>candidate</th></tr></thead>
<tbody>
<tr><td>scenario</td><td>{{.Base.Scenario}}</td><td>{{.Cand.Scenario}}</td></tr>
<tr><td>strategy</td><td>{{.Base.Strategy}}</td><td>{{.Cand.Strategy}}</td></tr>
<tr><td>seed</td><td>{{.Base.Seed}}</td><td>{{.Cand.Seed}}</td></tr>
<tr><td>verdict</td><td>{{.Base.Verdict}}</td><td>{{.Cand.Verdict}}</td></tr>
<tr><td>rerun</td><td><code>{{.Base.Rerun}}</code></td><td><code>{{.Cand.Rerun}}</code></td></tr>
</tbody>
</table>
</section>
{{if .NotComparable}}<p id="not-comparable" class="worse">{{.NotComparable}}</p>
{{end}}<section id="comparison">
<h2>Key figures</h2>
<table>
<thead><tr><th>figure</th><th>baseline</th><th>candidate</th><th>delta</th><th>change</th><th></th></tr></thead>
<tbody>
{{range .Rows}}<tr><td>{{.Name}}</td><td class="num">{{.Base}}</td><td class="num">{{.Cand}}</td><td class="num">{{.Delta}}</td><td class="num">{{.Change}}</td><td class="{{.Verdict}}">{{.Verdict}}</td></tr>
{{end}}</tbody>
</table>
</section>
</body>
</html>
`))

// CompareHTML writes the comparison of Compare as a self-contained page
// with sections id="runs" and id="comparison".
func CompareHTML(w io.Writer, base, cand *Results) error {
	type row struct{ Name, Base, Cand, Delta, Change, Verdict string }
	var rows []row
	why := notComparable(base, cand)
	for _, c := range compareFigures(base, cand) {
		v := c.verdict()
		if len(why) > 0 {
			v = ""
		}
		rows = append(rows, row{c.Name, c.format(c.Base), c.format(c.Cand), c.delta(), c.change(), v})
	}
	var notComp string
	if len(why) > 0 {
		notComp = notComparableLine(why)
	}
	err := compareTemplate.Execute(w, struct {
		Base, Cand    *Results
		Rows          []row
		NotComparable string
	}{base, cand, rows, notComp})
	if err != nil {
		return fmt.Errorf("write comparison: %w", err)
	}
	return nil
}
