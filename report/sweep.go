package report

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Sweep is sweep.json: one run per value of a scenario parameter, and the
// knee. Add fields freely; never rename one.
type Sweep struct {
	Scenario string `json:"scenario"`
	// Param is the swept scenario path ("rate", "phases[0].rate",
	// "coordinator.concurrency"); Values the range as given on the command
	// line.
	Param           string    `json:"param"`
	Values          string    `json:"values"`
	Seed            uint64    `json:"seed"`
	Started         time.Time `json:"started"`
	DurationSeconds float64   `json:"duration_seconds"`
	// DemandRises is true when a larger value is a harder load (rates,
	// counts, users, hot share) and false for capacity parameters such as
	// coordinator.concurrency, where the knee is the smallest value that
	// still holds.
	DemandRises bool `json:"demand_rises"`
	// XAxis is "offered_rate" when the parameter sets the offered load
	// (the charts then plot against it), else "value".
	XAxis       string       `json:"x_axis"`
	Points      []SweepPoint `json:"points"`
	Knee        Knee         `json:"knee"`
	Interrupted bool         `json:"interrupted,omitempty"`
	Rerun       string       `json:"rerun"`
	Currency    string       `json:"currency,omitempty"`
	PricesAsOf  string       `json:"prices_as_of,omitempty"`
}

// SweepPoint is one run of a sweep, condensed from its results.json.
type SweepPoint struct {
	Index   int     `json:"index"`
	Value   float64 `json:"value"`
	Dir     string  `json:"dir"` // relative to the sweep folder
	Verdict string  `json:"verdict"`
	// Reasons are the run's verdict reasons; Error is set when the point
	// could not run at all (then it has no figures).
	Reasons []string `json:"reasons"`
	Error   string   `json:"error,omitempty"`

	OfferedRate      float64 `json:"offered_rate"`
	AchievedRate     float64 `json:"achieved_rate"`
	AchievedRatio    float64 `json:"achieved_ratio"`
	CommitsPerSecond float64 `json:"commits_per_second"`
	Uploads          int64   `json:"uploads"`
	LatencyP50       float64 `json:"latency_p50_seconds"`
	LatencyP99       float64 `json:"latency_p99_seconds"`
	PollsMean        float64 `json:"polls_mean"`
	ConflictRate     float64 `json:"conflict_rate"`
	CostTotal        float64 `json:"cost"`
	CostPer1000      float64 `json:"cost_per_1000_uploads"`
	Violations       int     `json:"invariant_violations"`
	FailedGates      int     `json:"failed_gates"`
	// Runs is set when the point was run several times (sweep --repeat
	// N): the figures above are then medians, Verdict judges the
	// intervals, and Intervals holds the charted metrics' intervals by
	// gate metric name (latency.p99, throughput.achieved_rate, ...).
	Runs      int                 `json:"runs,omitempty"`
	Intervals map[string]Interval `json:"intervals,omitempty"`
}

// sweepIntervalMetrics are the metrics a repeated point keeps intervals
// of: the ones the sweep charts draw.
var sweepIntervalMetrics = []string{"throughput.achieved_rate", "throughput.commits_per_second", "latency.p50",
	"latency.p99", "polls.mean", "uploads.conflict_rate", "cost.per_1000_uploads"}

// Knee is the most demanding point at which gates and invariants still
// hold, walking from the least demanding point up to the first one that
// does not pass.
type Knee struct {
	Found        bool    `json:"found"`
	Index        int     `json:"index"` // -1 when not found
	Value        float64 `json:"value"`
	OfferedRate  float64 `json:"offered_rate"`
	AchievedRate float64 `json:"achieved_rate"`
	// NextIndex is the first more demanding point that did not pass (-1
	// when every point passed: the knee lies beyond the range).
	NextIndex int `json:"next_index"`
	// Recovered lists more demanding points that passed again after the
	// first failure: noise or a bimodal system, worth a rerun.
	Recovered []int  `json:"recovered,omitempty"`
	Text      string `json:"text"`
}

// NewSweepPoint condenses a point's results.
func NewSweepPoint(index int, value float64, dir string, r *Results) SweepPoint {
	p := SweepPoint{Index: index, Value: value, Dir: dir, Verdict: r.Verdict, Reasons: nonNil(r.Reasons),
		OfferedRate: r.Throughput.PlannedRate, AchievedRate: r.Throughput.AchievedRate,
		AchievedRatio: r.Throughput.AchievedRatio, CommitsPerSecond: r.Throughput.CommitsPerSecond,
		Uploads: r.Uploads.Total, LatencyP50: r.Latency.P50, LatencyP99: r.Latency.P99,
		PollsMean: r.Polls.Mean, ConflictRate: conflictRate(r.Uploads)}
	if r.Cost != nil {
		p.CostTotal, p.CostPer1000 = r.Cost.Total, r.Cost.Per1000
	}
	for _, inv := range r.Invariants {
		p.Violations += inv.Violations
	}
	for _, g := range r.Gates {
		if !g.OK && !g.Inconclusive {
			p.FailedGates++
		}
	}
	if rp := r.Repeat; rp != nil {
		p.Runs, p.Intervals = rp.N, map[string]Interval{}
		for _, m := range sweepIntervalMetrics {
			if iv, ok := rp.Metrics[m]; ok {
				p.Intervals[m] = iv
			}
		}
		if iv, ok := rp.Metrics["uploads.conflict_rate"]; ok {
			p.ConflictRate = iv.Median // the median of the rates, as charted
		}
	}
	return p
}

// Finish chooses the chart axis and finds the knee; call it after the
// last point.
func (s *Sweep) Finish() {
	s.XAxis = "value"
	if s.offeredFollowsValue() {
		s.XAxis = "offered_rate"
	}
	s.Knee = s.findKnee()
}

// offeredFollowsValue reports whether the offered rate is positive and
// strictly monotonic in the value, i.e. the parameter sets the load.
func (s *Sweep) offeredFollowsValue() bool {
	pts := s.ran()
	if len(pts) < 2 {
		return len(pts) == 1 && pts[0].OfferedRate > 0 && strings.HasSuffix(s.Param, "rate")
	}
	sort.Slice(pts, func(i, j int) bool { return pts[i].Value < pts[j].Value })
	up, down := true, true
	for i, p := range pts {
		if p.OfferedRate <= 0 {
			return false
		}
		if i > 0 {
			up = up && p.OfferedRate > pts[i-1].OfferedRate
			down = down && p.OfferedRate < pts[i-1].OfferedRate
		}
	}
	return up || down
}

// ran lists the points that produced results.
func (s *Sweep) ran() []SweepPoint {
	var out []SweepPoint
	for _, p := range s.Points {
		if p.Error == "" {
			out = append(out, p)
		}
	}
	return out
}

func (s *Sweep) findKnee() Knee {
	k := Knee{Index: -1, NextIndex: -1}
	order := append([]SweepPoint(nil), s.Points...)
	sort.SliceStable(order, func(i, j int) bool {
		if s.DemandRises {
			return order[i].Value < order[j].Value
		}
		return order[i].Value > order[j].Value
	})
	if len(order) == 0 {
		k.Text = "no point ran"
		return k
	}
	for _, p := range order {
		switch {
		case k.NextIndex >= 0:
			if p.Verdict == Pass {
				k.Recovered = append(k.Recovered, p.Index)
			}
		case p.Verdict == Pass:
			k.Found, k.Index, k.Value, k.OfferedRate, k.AchievedRate = true, p.Index, p.Value, p.OfferedRate, p.AchievedRate
		default:
			k.NextIndex = p.Index
		}
	}
	at := func(i int) string { return s.pointName(s.Points[i]) }
	switch {
	case !k.Found:
		next := s.Points[k.NextIndex]
		k.Text = fmt.Sprintf("no knee in range: the least demanding point, %s, was %s%s", at(k.NextIndex), orDash(next.Verdict), firstReason(next))
	case k.NextIndex < 0:
		k.Text = fmt.Sprintf("every point passed: the knee lies beyond %s", at(k.Index))
	default:
		next := s.Points[k.NextIndex]
		k.Text = fmt.Sprintf("knee at %s: the most demanding point where gates and invariants hold; next, %s was %s%s",
			at(k.Index), at(k.NextIndex), orDash(next.Verdict), firstReason(next))
	}
	if len(k.Recovered) > 0 {
		var names []string
		for _, i := range k.Recovered {
			names = append(names, at(i))
		}
		k.Text += fmt.Sprintf(" (passed again at %s: noise or a bimodal system; rerun with more points or longer phases)", strings.Join(names, ", "))
	}
	return k
}

// pointName reads "rate=400 (offered 400/s, achieved 398.7/s)".
func (s *Sweep) pointName(p SweepPoint) string {
	name := s.Param + "=" + num(p.Value)
	if p.OfferedRate > 0 {
		name += fmt.Sprintf(" (offered %s/s, achieved %s/s)", num(round2(p.OfferedRate)), num(round2(p.AchievedRate)))
	}
	return name
}

func firstReason(p SweepPoint) string {
	switch {
	case p.Error != "":
		return ": " + p.Error
	case len(p.Reasons) > 0:
		return ": " + p.Reasons[0]
	}
	return ""
}

// x is a point's position on the charts' X axis.
func (s *Sweep) x(p SweepPoint) float64 {
	if s.XAxis == "offered_rate" {
		return p.OfferedRate
	}
	return p.Value
}

func (s *Sweep) xLabel() string {
	if s.XAxis == "offered_rate" {
		return "offered load (uploads/s)"
	}
	return s.Param
}

// repeated reports whether the points were run several times each.
func (s *Sweep) repeated() bool {
	for _, p := range s.Points {
		if p.Runs > 1 {
			return true
		}
	}
	return false
}

// ReadSweep reads a sweep.json.
func ReadSweep(path string) (*Sweep, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read sweep: %w", err)
	}
	var s Sweep
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("read sweep %s: %w", path, err)
	}
	return &s, nil
}

// WriteSweep writes sweep.json, plots/sweep-*.png and .svg, and
// sweep.html into dir; sweep.json first, so a failure later still leaves
// the figures on disk.
func WriteSweep(dir string, s *Sweep) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("write sweep: %w", err)
	}
	if err := writeFile(filepath.Join(dir, "sweep.json"), func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(s)
	}); err != nil {
		return err
	}
	charts, err := SweepCharts(s)
	if err != nil {
		return err
	}
	if _, err := writeCharts(dir, charts); err != nil {
		return err
	}
	return writeFile(filepath.Join(dir, "sweep.html"), func(w io.Writer) error { return SweepHTML(w, s, charts) })
}

// SweepSummary writes the terminal table of a sweep and its knee.
func SweepSummary(w io.Writer, s *Sweep) error {
	sw := &sumWriter{w: w}
	partial := ""
	if s.Interrupted {
		partial = "  INTERRUPTED: partial sweep"
	}
	sw.printf("sweep  scenario %s  %s=%s  seed %d  %d point(s)%s\n\n", orDash(s.Scenario), s.Param, s.Values, s.Seed,
		len(s.Points), partial)
	rows := [][]string{{s.Param, "verdict", "offered/s", "achieved/s", "p50", "p99", "polls", "conflict", "cost/1k"}}
	if s.repeated() {
		rows[0] = append(rows[0], "p99 interval")
	}
	for _, p := range s.Points {
		if p.Error != "" {
			rows = append(rows, []string{num(p.Value), "error: " + p.Error})
			continue
		}
		row := []string{num(p.Value), p.Verdict, num(round2(p.OfferedRate)), num(round2(p.AchievedRate)),
			seconds(p.LatencyP50), seconds(p.LatencyP99), num(round2(p.PollsMean)), percent(p.ConflictRate), money(p.CostPer1000)}
		if iv, ok := p.Intervals["latency.p99"]; ok {
			row = append(row, fmt.Sprintf("[%s, %s] %s", seconds(iv.CILow), seconds(iv.CIHigh), percent(iv.Confidence)))
		}
		rows = append(rows, row)
	}
	sw.table(rows)
	if s.repeated() {
		sw.printf("\neach point ran %d times: figures are medians, the interval is the median's (order statistics, benchstat style)\n", s.Points[0].Runs)
	}
	sw.printf("\n%s\n", s.Knee.Text)
	if s.Rerun != "" {
		sw.printf("rerun: %s\n", s.Rerun)
	}
	if sw.err != nil {
		return fmt.Errorf("write sweep summary: %w", sw.err)
	}
	return nil
}
