package report

import (
	"fmt"
	"sort"

	"github.com/stormsim/stormsim/scenarios"
)

// gateIntervalText is "  [1.1s, 1.4s] 75%" for a gate judged over an
// interval, "" otherwise.
func gateIntervalText(g Gate) string {
	if g.Interval == nil {
		return ""
	}
	return fmt.Sprintf("  [%s, %s] %s", measured(g.Expr, g.Interval.CILow), measured(g.Expr, g.Interval.CIHigh), percent(g.Interval.Confidence))
}

// repeatMetrics are the metrics the repeat table shows first, in this
// order; the scenario's gated metrics follow.
var repeatMetrics = []string{
	"uploads.total", "uploads.committed", "uploads.conflict_rate", "uploads.committed_v2plus",
	"polls.mean", "polls.p99", "latency.p50", "latency.p99", "latency.max",
	"throughput.achieved_ratio", "throughput.commits_per_second", "invariants.violations",
	"scheduler.lateness.mean", "scheduler.lateness.p99",
}

// repeatRows lists the metrics a repeated run shows: the key ones, then
// every gated one, each once, skipping those without data.
func repeatRows(r *Results) []string {
	seen := map[string]bool{}
	var out []string
	add := func(name string) {
		if _, ok := r.Repeat.Metrics[name]; ok && !seen[name] {
			seen[name] = true
			out = append(out, name)
		}
	}
	for _, m := range repeatMetrics {
		add(m)
	}
	var gated []string
	for _, g := range r.Gates {
		if pg, err := scenarios.ParseGate(g.Expr); err == nil {
			gated = append(gated, pg.Metric)
		}
	}
	sort.Strings(gated)
	for _, m := range gated {
		add(m)
	}
	return out
}

// repeat prints the set of a repeated run: each run's verdict and, per
// metric, the median, the confidence interval of the median and the range.
func (s *sumWriter) repeat(r *Results) {
	rp := r.Repeat
	if rp == nil {
		return
	}
	s.printf("repeat: %d runs, same seed; median and confidence interval of the median (order statistics, benchstat style)\n", rp.N)
	for _, run := range rp.Runs {
		why := ""
		if len(run.Reasons) > 0 {
			why = ": " + run.Reasons[0]
			if len(run.Reasons) > 1 {
				why += fmt.Sprintf(" (+%d more)", len(run.Reasons)-1)
			}
		}
		s.printf("  %s  %s%s\n", run.Dir, run.Verdict, why)
	}
	rows := [][]string{{"  metric", "median", "interval", "confidence", "min", "max"}}
	for _, name := range repeatRows(r) {
		iv := rp.Metrics[name]
		v := func(x float64) string {
			if isDurationMetric(name) {
				return seconds(x)
			}
			return num(round4(x))
		}
		rows = append(rows, []string{"  " + name, v(iv.Median), fmt.Sprintf("[%s, %s]", v(iv.CILow), v(iv.CIHigh)),
			percent(iv.Confidence), v(iv.Min), v(iv.Max)})
	}
	s.table(rows)
	if rp.N < 6 {
		s.printf("  (%d runs: too few for a 95%% interval, which needs 6; the interval is [min, max])\n", rp.N)
	}
	s.printf("\n")
}

func round4(v float64) float64 {
	if v == 0 {
		return 0
	}
	return float64(int64(v*1e4+0.5*sign(v))) / 1e4
}

func sign(v float64) float64 {
	if v < 0 {
		return -1
	}
	return 1
}
