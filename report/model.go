package report

import (
	"fmt"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
)

// ModeModel is results.json's mode of a plan (simrun plan): every figure
// comes from the capacity-planning model, none was measured.
const ModeModel = "model"

// Model is what a plan reports beyond a run's figures: the profile it
// used and the handler pool, Redis and lock figures only a model has.
type Model struct {
	Profile       string `json:"profile"`
	ProfileDate   string `json:"profile_date"`
	ProfileSource string `json:"profile_source"`
	Handler       string `json:"handler"` // queue or lambda
	// ConcurrencyLimit is the handler pool's limit; MaxConcurrency the
	// most invocations that ran at once.
	ConcurrencyLimit int   `json:"concurrency_limit"`
	MaxConcurrency   int   `json:"max_concurrency"`
	Invocations      int64 `json:"invocations"`
	ColdStarts       int64 `json:"cold_starts"`
	Throttles        int64 `json:"throttles"`
	// RedisUtilization is the busiest Redis node's busy share over the
	// plan; RedisWaitMeanSeconds how long a call queued there on average.
	RedisUtilization     float64 `json:"redis_utilization"`
	RedisWaitMeanSeconds float64 `json:"redis_wait_mean_seconds"`
	// LockBusy counts lock attempts that found the file's lock held.
	LockBusy int64 `json:"lock_busy"`
	Events   int64 `json:"events"`
	// Notes say what the model could not model as the scenario asks.
	Notes  []string      `json:"notes"`
	Series []ModelSample `json:"series,omitempty"`
}

// ModelSample is one second of the handler pool.
type ModelSample struct {
	Second       float64 `json:"second"`
	Concurrency  int64   `json:"concurrency"`
	Environments int64   `json:"environments"`
	Throttles    int64   `json:"throttles"`
	ColdStarts   int64   `json:"cold_starts"`
	Waiting      int64   `json:"waiting"`
}

// Modelled marks the results as a plan's: mode "model", the model's own
// figures, and gates on what a model cannot judge (the invariants: a
// plan checks no history) made inconclusive with that reason.
func Modelled(m *Model) BuildOption {
	return func(c *buildConfig) { c.model = m }
}

// notModelled reports gate metrics a plan cannot judge.
func notModelled(metric string) bool { return strings.HasPrefix(metric, "invariants.") }

func applyModel(r *Results, m *Model, gates []Gate, metrics []string) {
	r.Mode, r.Model = ModeModel, m
	for i := range gates {
		if i < len(metrics) && notModelled(metrics[i]) {
			gates[i].OK, gates[i].Inconclusive = false, true
			gates[i].Reason = "not modelled: a plan checks no invariant (run the harness for correctness)"
		}
	}
}

// modelChartSpecs are drawn after the others when r is a plan.
var modelChartSpecs = []struct {
	name  string
	build func(r *Results) (*plot.Plot, error)
}{
	{"plan", planPlot},
}

// planPlot draws the handler pool over time: invocations running,
// environments alive, and throttles and cold starts per second.
func planPlot(r *Results) (*plot.Plot, error) {
	if r.Model == nil || len(r.Model.Series) == 0 {
		return nil, errNoData
	}
	title := fmt.Sprintf("Handler pool over time (modelled, profile %s %s)", r.Model.Profile, r.Model.ProfileDate)
	p := newPlot(title, "time into the plan (s)", "count")
	lines := []struct {
		name string
		y    func(s ModelSample) int64
	}{
		{"concurrency", func(s ModelSample) int64 { return s.Concurrency }},
		{"environments", func(s ModelSample) int64 { return s.Environments }},
		{"throttles/s", func(s ModelSample) int64 { return s.Throttles }},
		{"cold starts/s", func(s ModelSample) int64 { return s.ColdStarts }},
		{"waiting", func(s ModelSample) int64 { return s.Waiting }},
	}
	for i, ln := range lines {
		xys := make(plotter.XYs, len(r.Model.Series))
		any := false
		for j, s := range r.Model.Series {
			xys[j] = plotter.XY{X: s.Second, Y: float64(ln.y(s))}
			any = any || ln.y(s) != 0
		}
		if !any {
			continue
		}
		l, err := line(xys, i)
		if err != nil {
			return nil, err
		}
		p.Add(l)
		p.Legend.Add(ln.name, l)
	}
	p.Y.Min = 0
	headroom(p)
	return p, nil
}
