package report

import (
	"fmt"
	"math"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/stormsim/stormsim/scenarios"
	"github.com/stormsim/stormsim/sim"
)

// Repeat is results.json's "repeat" section of a repeated run (simrun
// --repeat N): the same scenario and seed run N times, each in its own
// folder, and every gate metric summarised over the runs.
type Repeat struct {
	N int `json:"n"`
	// Confidence is the level asked of each interval (RepeatConfidence);
	// each metric states the coverage it reached.
	Confidence float64     `json:"confidence"`
	Runs       []RepeatRun `json:"runs"`
	// Metrics maps a gate metric name (latency.p99, polls.mean, ...) to its
	// interval over the runs. A metric without samples in some run is left
	// out.
	Metrics map[string]Interval `json:"metrics"`
}

// RepeatRun is one run of the set, as its own results.json judged it.
type RepeatRun struct {
	Index   int      `json:"index"` // 1-based
	Dir     string   `json:"dir"`   // relative to the set's folder
	Verdict string   `json:"verdict"`
	Reasons []string `json:"reasons"`
}

// GateInterval is the interval a repeated run's gate judged.
type GateInterval struct {
	CILow      float64 `json:"ci_low"`
	CIHigh     float64 `json:"ci_high"`
	Confidence float64 `json:"confidence"`
}

// RepeatSet aggregates the runs of a repeated run: Add each run as it
// ends, then Close for the set's results.
type RepeatSet struct {
	runs    []*Results
	info    []RepeatRun
	base    []verdictParts // each run's verdict without its gates
	started time.Time
}

type verdictParts struct {
	verdict string
	reasons []string
}

// Add records one run: res is what the engine returned (nil for a
// scheduler-only run), r its results.json, dir its folder relative to the
// set's.
func (s *RepeatSet) Add(dir string, res *sim.Result, r *Results) {
	if res == nil {
		res = &sim.Result{}
	}
	if len(s.runs) == 0 || r.Started.Before(s.started) {
		s.started = r.Started
	}
	// The run's verdict without its gates: invariants, an abort, a drain
	// timeout, an unreached load... by the one rule every run follows. The
	// gates are judged over the set instead.
	noGates := *r
	noGates.Gates = nil
	var unseen []string // the run's unmet evidence, kept from its own verdict
	for _, why := range r.Reasons {
		if strings.HasPrefix(why, "evidence ") {
			unseen = append(unseen, why)
		}
	}
	v, why := verdict(&noGates, res, unseen)
	s.runs = append(s.runs, r)
	s.base = append(s.base, verdictParts{v, why})
	s.info = append(s.info, RepeatRun{Index: len(s.runs), Dir: dir, Verdict: r.Verdict, Reasons: nonNil(r.Reasons)})
}

// Len is the number of runs added.
func (s *RepeatSet) Len() int { return len(s.runs) }

// Close builds the set's results.json: every figure is the median over
// the runs (field by field, counts rounded; per-run detail such as time
// series and spectra stays in each run's folder), the invariants are
// summed over the runs, the gates judged over the metrics' intervals
// (JudgeInterval) and the verdict follows the usual rules: any invariant
// violation in any run fails the set.
func (s *RepeatSet) Close(gates []scenarios.Gate, rerun string) *Results {
	out := &Results{}
	if len(s.runs) == 0 {
		out.Verdict, out.Reasons = Inconclusive, []string{"no run finished"}
		out.Invariants, out.Gates = []Invariant{}, []Gate{}
		out.Repeat = &Repeat{Confidence: RepeatConfidence, Runs: []RepeatRun{}, Metrics: map[string]Interval{}}
		return out
	}
	medianInto(reflect.ValueOf(out).Elem(), values(s.runs))
	last := s.runs[len(s.runs)-1]
	out.Started = s.started
	out.DurationSeconds = last.Started.Add(seconds2d(last.DurationSeconds)).Sub(s.started).Seconds()
	out.Rerun = rerun
	for _, r := range s.runs {
		out.Partial = out.Partial || r.Partial
	}
	s.saturation(out.Harness)
	out.Repeat = &Repeat{N: len(s.runs), Confidence: RepeatConfidence, Runs: s.info, Metrics: s.metrics()}
	out.Invariants = s.invariants()
	out.Gates = judgeGates(gates, out.Repeat.Metrics)
	out.Verdict, out.Reasons = s.verdict(out.Gates)
	return out
}

func seconds2d(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

func values(runs []*Results) []reflect.Value {
	out := make([]reflect.Value, len(runs))
	for i, r := range runs {
		out[i] = reflect.ValueOf(r).Elem()
	}
	return out
}

// metrics summarises every gate metric that has samples in every run.
func (s *RepeatSet) metrics() map[string]Interval {
	out := map[string]Interval{}
	for _, name := range scenarios.MetricNames() {
		vals := make([]float64, 0, len(s.runs))
		for _, r := range s.runs {
			v, ok := r.Metric(name)
			if !ok {
				break
			}
			vals = append(vals, v)
		}
		if len(vals) == len(s.runs) {
			out[name] = MedianCI(vals, RepeatConfidence)
		}
	}
	return out
}

// invariants merges the runs' checks by name: violations summed, examples
// prefixed with their run's folder.
func (s *RepeatSet) invariants() []Invariant {
	out := []Invariant{}
	at := map[string]int{}
	for i, r := range s.runs {
		for _, inv := range r.Invariants {
			j, ok := at[inv.Name]
			if !ok {
				j = len(out)
				at[inv.Name] = j
				out = append(out, Invariant{Name: inv.Name, OK: true, Examples: []string{}})
			}
			m := &out[j]
			m.OK = m.OK && inv.OK
			m.Violations += inv.Violations
			m.Inconclusive = m.Inconclusive || inv.Inconclusive
			for _, ex := range inv.Examples {
				if len(m.Examples) < maxExamples {
					m.Examples = append(m.Examples, s.info[i].Dir+"/"+ex)
				}
			}
			if inv.Detail != "" && m.Detail == "" {
				m.Detail = s.info[i].Dir + ": " + inv.Detail
			}
		}
	}
	return out
}

// saturation sets what the medians cannot say: the set was harness-bound
// if any run was, with every bound run's reasons prefixed by its folder
// (a median copies run 1's Bound and leaves the list empty).
func (s *RepeatSet) saturation(h *Harness) {
	if h == nil || h.Saturation == nil {
		return
	}
	sat := h.Saturation
	sat.Bound, sat.Reasons = false, []string{}
	for i, r := range s.runs {
		if r.Harness == nil || r.Harness.Saturation == nil || !r.Harness.Saturation.Bound {
			continue
		}
		sat.Bound = true
		for _, why := range r.Harness.Saturation.Reasons {
			sat.Reasons = append(sat.Reasons, s.info[i].Dir+": "+why)
		}
	}
}

// judgeGates evaluates each gate over its metric's interval; the value is
// the median.
func judgeGates(gates []scenarios.Gate, metrics map[string]Interval) []Gate {
	out := []Gate{}
	for _, g := range gates {
		iv, ok := metrics[g.Metric]
		if !ok {
			out = append(out, Gate{Expr: g.Expr, Value: math.NaN(), NoData: true})
			continue
		}
		st := JudgeInterval(g, iv)
		out = append(out, Gate{Expr: g.Expr, Value: iv.Median, OK: st == Pass, Inconclusive: st == Inconclusive,
			Interval: &GateInterval{CILow: iv.CILow, CIHigh: iv.CIHigh, Confidence: iv.Confidence}})
	}
	for i := range out {
		if math.IsNaN(out[i].Value) {
			out[i].Value = 0 // JSON has no NaN
		}
	}
	return out
}

// verdict: fail when any run failed on its own terms (an invariant, an
// abort) or a gate's whole interval fails; inconclusive when a run was
// (an unreached load, a drain timeout, an unfinished check) or a gate's
// interval straddles its threshold; pass otherwise.
func (s *RepeatSet) verdict(gates []Gate) (string, []string) {
	var fail, inconc []string
	for i, b := range s.base {
		for _, why := range b.reasons {
			line := s.info[i].Dir + ": " + why
			switch b.verdict {
			case Fail:
				fail = append(fail, line)
			default:
				inconc = append(inconc, line)
			}
		}
	}
	for _, g := range gates {
		switch {
		case g.NoData:
			fail = append(fail, fmt.Sprintf("gate %q: no samples in some run", g.Expr))
		case g.OK:
		case g.Inconclusive:
			inconc = append(inconc, fmt.Sprintf("gate %q: the median's interval straddles the threshold: %s",
				g.Expr, intervalText(g)))
		default:
			fail = append(fail, fmt.Sprintf("gate %q: the whole interval fails: %s", g.Expr, intervalText(g)))
		}
	}
	return judged(fail, inconc)
}

// intervalText reads "median 1.2s, 75% interval [1.1s, 1.4s]".
func intervalText(g Gate) string {
	v := func(x float64) string { return measured(g.Expr, x) }
	if g.Interval == nil {
		return "median " + v(g.Value)
	}
	return fmt.Sprintf("median %s, %s interval [%s, %s]", v(g.Value), percent(g.Interval.Confidence),
		v(g.Interval.CILow), v(g.Interval.CIHigh))
}

// medianInto sets every numeric field of dst to the median of that field
// over srcs, recursing into structs, pointers to structs and maps of
// numbers (keys missing in a run count as 0). Strings, booleans and times
// come from the first run; slices are left empty: a median of lists has
// no meaning, and each run's folder keeps them. A boolean that goes with
// a list (harness.saturation) is set over the runs by Close.
func medianInto(dst reflect.Value, srcs []reflect.Value) {
	switch dst.Kind() {
	case reflect.Struct:
		if dst.Type() == reflect.TypeFor[time.Time]() {
			dst.Set(srcs[0])
			return
		}
		for i := range dst.NumField() {
			if !dst.Type().Field(i).IsExported() {
				continue
			}
			fs := make([]reflect.Value, len(srcs))
			for j, s := range srcs {
				fs[j] = s.Field(i)
			}
			medianInto(dst.Field(i), fs)
		}
	case reflect.Pointer:
		var nonNil []reflect.Value
		for _, s := range srcs {
			if !s.IsNil() {
				nonNil = append(nonNil, s.Elem())
			}
		}
		if len(nonNil) == 0 || dst.Type().Elem().Kind() != reflect.Struct {
			return
		}
		dst.Set(reflect.New(dst.Type().Elem()))
		medianInto(dst.Elem(), nonNil)
	case reflect.Map:
		medianMap(dst, srcs)
	case reflect.Float32, reflect.Float64:
		dst.SetFloat(medianOf(srcs, func(v reflect.Value) float64 { return v.Float() }))
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		dst.SetInt(int64(math.Round(medianOf(srcs, func(v reflect.Value) float64 { return float64(v.Int()) }))))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		dst.SetUint(uint64(math.Round(medianOf(srcs, func(v reflect.Value) float64 { return float64(v.Uint()) }))))
	case reflect.String, reflect.Bool:
		dst.Set(srcs[0])
	}
}

func medianMap(dst reflect.Value, srcs []reflect.Value) {
	t := dst.Type()
	if t.Key().Kind() != reflect.String {
		return
	}
	keys := map[string]bool{}
	for _, s := range srcs {
		for _, k := range s.MapKeys() {
			keys[k.String()] = true
		}
	}
	if len(keys) == 0 {
		return
	}
	dst.Set(reflect.MakeMap(t))
	names := make([]string, 0, len(keys))
	for k := range keys {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		kv := reflect.ValueOf(k).Convert(t.Key())
		vals := make([]reflect.Value, len(srcs))
		for i, s := range srcs {
			vals[i] = s.MapIndex(kv)
			if !vals[i].IsValid() {
				vals[i] = reflect.Zero(t.Elem())
			}
		}
		v := reflect.New(t.Elem()).Elem()
		medianInto(v, vals)
		dst.SetMapIndex(kv, v)
	}
}

func medianOf(vs []reflect.Value, f func(reflect.Value) float64) float64 {
	xs := make([]float64, len(vs))
	for i, v := range vs {
		xs[i] = f(v)
	}
	return MedianCI(xs, 0).Median
}

// RepeatRunDir names run i (1-based) of a set of n: run-1..run-9, or
// run-01.. when n has two digits, so that folders sort in run order.
func RepeatRunDir(i, n int) string {
	w := len(fmt.Sprint(n))
	return fmt.Sprintf("run-%0*d", w, i)
}
