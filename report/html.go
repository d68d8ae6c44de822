package report

import (
	"bytes"
	_ "embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"sort"
	"strings"
)

//go:embed report.html.tmpl
var htmlSource string

var htmlTemplate = template.Must(template.New("report").Parse(htmlSource))

// chartCaptions describe the charts Charts draws, for alt text and captions.
var chartCaptions = map[string]string{
	"latency":            "Upload latency by percentile, from the planned instant to the outcome known (log scales).",
	"polls":              "Result polls per upload; the bar at 0 is the share resolved by push alone.",
	"scheduler-lateness": "Scheduler lateness histogram against the theoretical uniform distribution.",
	"throughput":         "Arrivals and outcomes per second over the run against the planned arrivals per second; shaded areas are injected faults.",
	"inflight":           "Uploads in flight over the run; shaded areas are injected faults.",
	"conflicts":          "Conflict rate per second over the run; shaded areas are injected faults.",
	"repeat":             repeatCaption,
	"bills":              "Users by storage bill over the run, from the coordinator's usage events at the price per GB-month of the price table.",
	"memory":             "Resident set and live heap over the run, the heap split between the harness and the embedded fakes' stored state.",
}

// lagCaption describes a multi-region run's lag charts (lag-HOME-to-REGION).
const lagCaption = "Replication lag of one region pair: each point is a committed version, from its commit at home to its copy applied in the other region; the line is the pair's p99."

// HTML writes report.html: one self-contained page (no external assets;
// charts inlined as data: URIs) with the verdict, summary, gates,
// invariants with violating upload ids, scheduler, rerun command and
// charts. charts maps a chart name (see ChartNames) to its PNG or SVG
// bytes. Every section has an id (summary, gates, invariants, scheduler,
// rerun, charts) and every chart a figure with id "chart-NAME".
func HTML(w io.Writer, r *Results, charts map[string][]byte) error {
	var text bytes.Buffer
	if err := Summary(&text, r); err != nil {
		return err
	}
	page := htmlPage{
		R:            r,
		Verdict:      verdictClass(r.Verdict),
		VerdictUpper: strings.ToUpper(orDash(r.Verdict)),
		Started:      "-",
		Duration:     seconds(r.DurationSeconds),
		Figures:      keyFigures(r),
		Text:         text.String(),
	}
	if !r.Started.IsZero() {
		page.Started = r.Started.UTC().Format("2006-01-02 15:04:05Z")
	}
	for _, l := range append([]phase{{"planned -> outcome known", r.Latency}}, phases(r)...) {
		if schedulerOnly(r) || l.lat.Count == 0 && l.name != "planned -> outcome known" {
			continue
		}
		page.Latency = append(page.Latency, htmlRow{Name: l.name, Cells: []string{
			seconds(l.lat.P50), seconds(l.lat.P90), seconds(l.lat.P99), seconds(l.lat.P999),
			seconds(l.lat.Max), seconds(l.lat.Mean), fmt.Sprint(l.lat.Count)}})
	}
	for _, g := range r.Gates {
		row := htmlCheck{Status: status(g.OK, g.Inconclusive), Class: "ok", Expr: g.Expr, Value: gateValue(g) + gateIntervalText(g), Detail: g.Reason}
		switch {
		case g.Inconclusive:
			row.Class = "warn"
		case !g.OK:
			row.Class = "bad"
		}
		page.Gates = append(page.Gates, row)
	}
	for _, inv := range r.Invariants {
		row := htmlCheck{Status: status(inv.OK, inv.Inconclusive), Class: "ok", Name: inv.Name,
			Violations: inv.Violations, Examples: strings.Join(inv.Examples, ", "), Detail: inv.Detail}
		switch {
		case inv.Inconclusive:
			row.Class = "warn"
		case !inv.OK:
			row.Class = "bad"
		}
		page.Invariants = append(page.Invariants, row)
	}
	page.Scheduler = schedulerSection(r.Scheduler)
	page.Regions = regionsSection(r.Regions)
	page.Email = emailSection(r.Email)
	var err error
	if page.Charts, err = htmlCharts(charts); err != nil {
		return err
	}
	for i, c := range page.Charts {
		page.Charts[i].Caption = captionFor(c.Name, c.Caption, r)
	}
	if err := htmlTemplate.Execute(w, page); err != nil {
		return fmt.Errorf("write html: %w", err)
	}
	return nil
}

type htmlPage struct {
	R                     *Results
	Verdict, VerdictUpper string
	Started, Duration     string
	Figures               []figure
	Latency               []htmlRow
	Gates, Invariants     []htmlCheck
	Scheduler             *htmlScheduler
	Regions               *htmlRegions
	Email                 []figure
	Charts                []htmlChart
	Text                  string
}

type figure struct{ Label, Value string }

type htmlRow struct {
	Name  string
	Cells []string
}

type htmlCheck struct {
	Status, Class, Expr, Value, Name, Examples, Detail string
	Violations                                         int
}

type htmlScheduler struct {
	Figures []figure
	Rows    []htmlRow
}

type htmlChart struct {
	Name, Caption string
	Src           template.URL
}

func verdictClass(v string) string {
	switch v {
	case Pass, Fail, Inconclusive:
		return v
	}
	return Inconclusive
}

// uploadFigures are the headline numbers of the uploads.
func uploadFigures(r *Results) []figure {
	u, p, t := r.Uploads, r.Polls, r.Throughput
	of := func(n int64) string { return fmt.Sprintf("%d (%s)", n, percent(share(n, u.Total))) }
	return []figure{
		{"uploads", fmt.Sprint(u.Total)},
		{"committed", of(u.Committed)},
		{"conflict", of(u.Conflict)},
		{"rejected", of(u.Rejected)},
		{"error", of(u.Error)},
		{"unknown", of(u.Unknown)},
		{"pending at the end of the drain", fmt.Sprint(u.Pending)},
		{"conflict rate (of decided)", percent(conflictRate(u))},
		{"bytes uploaded", bytesIEC(u.Bytes)},
		{"polls per upload: mean", num(round2(p.Mean))},
		{"polls: p50 / p99 / max", fmt.Sprintf("%s / %s / %s", num(p.P50), num(p.P99), num(p.Max))},
		{"resolved by push (0 polls)", percent(p.ZeroShare)},
		{"planned rate", num(round2(t.PlannedRate)) + "/s"},
		{"achieved rate", num(round2(t.AchievedRate)) + "/s"},
		{"achieved ratio", num(round2(t.AchievedRatio))},
		{"commits per second", num(round2(t.CommitsPerSecond))},
		{"max in flight", fmt.Sprint(t.MaxInFlight)},
	}
}

// keyFigures are the headline numbers of the summary section.
func keyFigures(r *Results) []figure {
	var f []figure
	if !schedulerOnly(r) {
		f = uploadFigures(r)
	}
	if h := r.Harness; h != nil {
		f = append(f,
			figure{"harness CPU", fmt.Sprintf("%s (%s of cores)", seconds(h.CPUSeconds), percent(h.CPUUtilization))},
			figure{"harness max RSS", bytesIEC(h.MaxRSSBytes)},
		)
		if sat := h.Saturation; sat != nil {
			state := "not bound"
			if sat.Bound {
				state = "BOUND: " + strings.Join(sat.Reasons, "; ")
			}
			f = append(f,
				figure{"harness saturation", state},
				figure{"harness lag p50 / p99 / max", fmt.Sprintf("%s / %s / %s", seconds(sat.Lag.P50), seconds(sat.Lag.P99), seconds(sat.Lag.Max))},
				figure{"Go scheduler latency p99", seconds(sat.SchedLatency.P99)},
				figure{"CPU: this process / its threads' wait for a CPU / machine busy / other processes",
					fmt.Sprintf("%s / %s / %s / %s", percent(sat.ProcessCPUShare), shareOrDash(sat.RunQueueWaitShare), shareOrDash(sat.MachineCPUBusyShare), otherShare(sat))},
			)
		}
		if h.HeapHarnessMaxBytes > 0 {
			f = append(f,
				figure{"harness live heap: after the drain / under load at most", bytesIEC(h.HeapHarnessEndBytes) + " / " + bytesIEC(h.HeapHarnessMaxBytes)},
				figure{"embedded fakes' live heap", bytesIEC(h.HeapFakesEndBytes)},
			)
		}
	}
	if c := r.Cost; c != nil {
		f = append(f,
			figure{"cost per run", money(c.Total) + " " + c.Currency},
			figure{"cost per 1,000 uploads", money(c.Per1000) + " " + c.Currency},
		)
	}
	return f
}

func schedulerSection(sc *Scheduler) *htmlScheduler {
	if sc == nil {
		return nil
	}
	s := &htmlScheduler{Figures: []figure{
		{"strategy", orDash(sc.Strategy)},
		{"events", fmt.Sprint(sc.Events)},
		{"runs", fmt.Sprint(sc.Runs)},
		{"early", fmt.Sprint(sc.Early)},
		{"missed", fmt.Sprint(sc.Missed)},
		{"duplicates", fmt.Sprint(sc.Duplicates)},
		{"empty wakeups", fmt.Sprint(sc.EmptyWakeups)},
		{"throttled rule updates", fmt.Sprint(sc.Throttled)},
	}}
	l := sc.Lateness
	s.Rows = append(s.Rows, htmlRow{Name: orDash(sc.Strategy), Cells: []string{
		seconds(l.Mean), seconds(l.P50), seconds(l.P99), seconds(l.Max),
		fmt.Sprint(sc.Invocations), fmt.Sprint(sc.RuleUpdates), fmt.Sprint(sc.Early), fmt.Sprint(sc.Missed)}})
	if sc.TheoryMean > 0 {
		s.Rows = append(s.Rows, htmlRow{Name: "theory (uniform)", Cells: []string{
			seconds(sc.TheoryMean), "-", "-", "-", "-", "-", "0", "0"}})
	}
	for _, p := range sc.Peers {
		s.Rows = append(s.Rows, htmlRow{Name: p.Strategy, Cells: []string{
			seconds(p.MeanLateness), "-", seconds(p.P99Lateness), seconds(p.MaxLateness),
			fmt.Sprint(p.Invocations), fmt.Sprint(p.RuleUpdates), fmt.Sprint(p.Early), fmt.Sprint(p.Missed)}})
	}
	return s
}

// htmlCharts orders the charts as Charts draws them (unknown names last,
// by name) and turns each into a data: URI.
func htmlCharts(charts map[string][]byte) ([]htmlChart, error) {
	rank := map[string]int{}
	for i, n := range ChartNames() {
		rank[n] = i + 1
	}
	names := sortedKeys(charts)
	sort.SliceStable(names, func(i, j int) bool {
		ri, rj := rank[names[i]], rank[names[j]]
		if ri == 0 || rj == 0 {
			return ri != 0 && rj == 0
		}
		return ri < rj
	})
	var out []htmlChart
	for _, name := range names {
		data := charts[name]
		mime, err := imageType(data)
		if err != nil {
			return nil, fmt.Errorf("write html: chart %s: %w", name, err)
		}
		caption := chartCaptions[name]
		if caption == "" && strings.HasPrefix(name, "lag-") {
			caption = lagCaption
		}
		if caption == "" {
			caption = name
		}
		// The URI is built here from bytes we encode ourselves, so it is
		// safe to mark as a trusted URL for html/template.
		src := template.URL("data:" + mime + ";base64," + base64.StdEncoding.EncodeToString(data))
		out = append(out, htmlChart{Name: name, Caption: caption, Src: src})
	}
	return out, nil
}

// captionFor fits a chart's caption to the run: fault shading is
// mentioned only when faults were injected, gate thresholds when the
// chart draws some.
func captionFor(name, caption string, r *Results) string {
	if len(r.Faults) == 0 {
		caption = strings.Replace(caption, "; shaded areas are injected faults.", ".", 1)
	}
	if len(gatesOn(r, chartGateMetrics[name]...)) > 0 {
		caption += " Dash-dotted lines are gate thresholds (grey: kept, red: crossed)."
	}
	return caption
}

func imageType(data []byte) (string, error) {
	switch {
	case bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		return "image/png", nil
	case bytes.Contains(data[:min(len(data), 512)], []byte("<svg")):
		return "image/svg+xml", nil
	}
	return "", fmt.Errorf("neither PNG nor SVG")
}

// otherShare is other processes' share, known only with the machine's.
func otherShare(sat *Saturation) string {
	if sat.MachineCPUBusyShare < 0 {
		return "-"
	}
	return percent(sat.OtherCPUShare)
}

// shareOrDash is a share as a percentage, or "-" when unknown (-1).
func shareOrDash(v float64) string {
	if v < 0 {
		return "-"
	}
	return percent(v)
}
