package report

import (
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"strings"
)

var sweepTemplate = template.Must(template.New("sweep").Parse(sweepHTMLSource))

// sweepHTMLSource is the page; its style follows report.html.tmpl.
const sweepHTMLSource = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>stormsim sweep {{.S.Scenario}}: {{.S.Param}}</title>
<style>
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1d2530; margin: 0 auto; max-width: 1100px; padding: 1.5em; }
h1 { font-size: 1.5em; margin: 0 0 .2em; }
h2 { font-size: 1.15em; margin: 1.6em 0 .5em; border-bottom: 1px solid #d5dbe3; padding-bottom: .2em; }
.meta { color: #5a6572; margin: 0; }
.badge { display: inline-block; padding: .15em .6em; border-radius: .3em; font-weight: 700; color: #fff; letter-spacing: .04em; }
.pass { background: #1a7f37; } .fail { background: #cf222e; } .inconclusive { background: #9a6700; }
td.pass, td.fail, td.inconclusive { color: #fff; font-weight: 700; }
tr.knee td { border-top: 2px solid #1a7f37; border-bottom: 2px solid #1a7f37; }
table { border-collapse: collapse; margin: .3em 0; }
th, td { text-align: left; padding: .25em .8em .25em 0; vertical-align: top; }
th { color: #5a6572; font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.reason { color: #5a6572; font-size: .85em; max-width: 22em; }
tbody tr { border-top: 1px solid #eef1f4; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .9em; }
pre { background: #f6f8fa; padding: .8em; overflow-x: auto; border-radius: .3em; }
figure { margin: 1em 0 2em; }
figure img { max-width: 100%; height: auto; border: 1px solid #eef1f4; } /* the chart with its legend beside it, at its own size */
figcaption { color: #5a6572; font-size: .9em; }
</style>
</head>
<body>
<header id="header">
<h1>stormsim sweep: {{or .S.Scenario "scenario"}} over <code>{{.S.Param}}</code></h1>
<p class="meta">values {{.S.Values}} · {{len .S.Points}} point(s) · seed {{.S.Seed}} · started {{.Started}} · duration {{.Duration}}{{if .S.Interrupted}} · <strong>interrupted: partial sweep</strong>{{end}}</p>
</header>

<section id="knee">
<h2>Knee</h2>
<p><span class="badge {{.KneeClass}}" id="knee-badge">{{.KneeBadge}}</span></p>
<p id="knee-text">{{.S.Knee.Text}}</p>
<p class="meta">The knee is the most demanding point at which the gates and the invariants still hold (verdict pass), walking from the least demanding point{{if .S.DemandRises}} (the smallest value){{else}} (the largest value: more of {{.S.Param}} is more capacity){{end}} up to the first point that does not pass.</p>
</section>

<section id="points">
<h2>Points</h2>
<table>
<thead><tr><th>{{.S.Param}}</th><th>verdict</th><th>offered/s</th><th>achieved/s</th><th>ratio</th><th>commits/s</th><th>p50</th><th>p99</th><th>polls</th><th>conflict</th><th>{{.Currency}}/1k uploads</th><th>violations</th><th>first reason</th></tr></thead>
<tbody>
{{range .Rows}}<tr{{if .Knee}} class="knee"{{end}}><td class="num">{{if .Link}}<a href="{{.Link}}">{{.Value}}</a>{{else}}{{.Value}}{{end}}</td><td class="{{.Class}}">{{.Verdict}}</td>{{range .Cells}}<td class="num">{{.}}</td>{{end}}<td class="reason">{{.Reason}}</td></tr>
{{end}}</tbody>
</table>
{{if .S.PricesAsOf}}<p class="meta">Cost: pay-as-you-go estimate at list prices as of {{.S.PricesAsOf}} (see each point's results.json, "cost").</p>{{end}}
</section>

<section id="charts">
<h2>Charts</h2>
{{range .Charts}}<figure id="chart-{{.Name}}">
<img src="{{.Src}}" alt="{{.Caption}}">
<figcaption>{{.Caption}}</figcaption>
</figure>
{{else}}<p>No charts: no point produced results.</p>
{{end}}</section>

<section id="rerun">
<h2>Rerun</h2>
<pre>{{.S.Rerun}}</pre>
</section>
</body>
</html>
`

type sweepPage struct {
	S         *Sweep
	Started   string
	Duration  string
	KneeClass string
	KneeBadge string
	Rows      []sweepRow
	Charts    []htmlChart
	Currency  string
}

type sweepRow struct {
	Class, Value, Verdict, Reason, Link string
	Cells                               []string
	Knee                                bool
}

// SweepHTML writes sweep.html: one self-contained page with the knee, a
// table of the points (each linking to its own report.html) and the
// charts inlined as data: URIs. Sections have ids knee, points, charts
// and rerun; each chart a figure with id "chart-NAME".
func SweepHTML(w io.Writer, s *Sweep, charts []Chart) error {
	page := sweepPage{S: s, Started: "-", Duration: seconds(s.DurationSeconds), KneeClass: "fail", Currency: s.Currency}
	if page.Currency == "" {
		page.Currency = "USD"
	}
	if !s.Started.IsZero() {
		page.Started = s.Started.UTC().Format("2006-01-02 15:04:05Z")
	}
	switch {
	case s.Knee.Found && s.Knee.NextIndex >= 0:
		page.KneeClass, page.KneeBadge = "pass", fmt.Sprintf("KNEE %s = %s", s.Param, num(s.Knee.Value))
	case s.Knee.Found:
		page.KneeClass, page.KneeBadge = "inconclusive", fmt.Sprintf("ALL PASSED UP TO %s = %s", s.Param, num(s.Knee.Value))
	default:
		page.KneeBadge = "NO POINT PASSED"
	}
	for _, p := range s.Points {
		row := sweepRow{Class: verdictClass(p.Verdict), Value: num(p.Value), Verdict: strings.ToUpper(orDash(p.Verdict)),
			Reason: strings.TrimPrefix(firstReason(p), ": "), Link: p.Dir + "/report.html", Knee: s.Knee.Found && s.Knee.Index == p.Index}
		if p.Error != "" {
			row.Verdict, row.Class, row.Link = "ERROR", "fail", ""
		} else {
			row.Cells = []string{num(round2(p.OfferedRate)), num(round2(p.AchievedRate)), num(round2(p.AchievedRatio)),
				num(round2(p.CommitsPerSecond)), seconds(p.LatencyP50), seconds(p.LatencyP99), num(round2(p.PollsMean)),
				percent(p.ConflictRate), money(p.CostPer1000), fmt.Sprint(p.Violations)}
		}
		page.Rows = append(page.Rows, row)
	}
	for _, c := range charts {
		caption := c.Title
		for _, sc := range sweepCharts {
			if sc.name == c.Name {
				caption = sc.caption
			}
		}
		// Built here from bytes we encode ourselves: safe as a trusted URL.
		src := template.URL("data:image/svg+xml;base64," + base64.StdEncoding.EncodeToString(c.SVG))
		page.Charts = append(page.Charts, htmlChart{Name: c.Name, Caption: caption, Src: src})
	}
	if err := sweepTemplate.Execute(w, page); err != nil {
		return fmt.Errorf("write sweep html: %w", err)
	}
	return nil
}
