package scenarios

import (
	"strings"
	"testing"
	"time"
)

func TestParseParam_Cases(t *testing.T) {
	tests := []struct {
		in       string
		path     string
		from, to float64
		steps    int
		err      string
	}{
		{in: "rate=100..800x8", path: "rate", from: 100, to: 800, steps: 8},
		{in: "phases[1].count=10..20", path: "phases[1].count", from: 10, to: 20, steps: DefaultParamSteps},
		{in: "population.hot_share=0..0.5X6", path: "population.hot_share", from: 0, to: 0.5, steps: 6},
		{in: " coordinator.concurrency = 64..8 x 4 ", path: "coordinator.concurrency", from: 64, to: 8, steps: 4},
		{in: "rate=1.5e2..3e2x2", path: "rate", from: 150, to: 300, steps: 2},
		{in: "population.users=300", path: "population.users", from: 300, to: 300, steps: 1},
		{in: "rate=5..5x3", path: "rate", from: 5, to: 5, steps: 1},
		{in: "rate", err: "want PATH=FROM..TO[xSTEPS]"},
		{in: "=1..2", err: "want PATH=FROM..TO[xSTEPS]"},
		{in: "rate=", err: "want PATH=FROM..TO[xSTEPS]"},
		{in: "rate=a..2", err: `FROM "a": not a number`},
		{in: "rate=1..b", err: `TO "b": not a number`},
		{in: "rate=1..NaN", err: `TO "NaN": not a number`},
		{in: "rate=1..2x0", err: `STEPS "0"`},
		{in: "rate=1..2x101", err: `STEPS "101"`},
		{in: "rate=1..2xmany", err: `STEPS "many"`},
		{in: "rate=1..2x1", err: "STEPS must be at least 2"},
		{in: "phases[a].rate=1..2", err: "index in \"phases[a]\" must be a whole number"},
		{in: "phases[0.rate=1..2", err: "unclosed ["},
		{in: "Population.users=1..2", err: `"Population" is not a field name`},
		{in: "population..users=1..2", err: `"" is not a field name`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			p, err := ParseParam(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.Path != tt.path || p.From != tt.from || p.To != tt.to || p.Steps != tt.steps {
				t.Errorf("got path %q %v..%v x%d, want %q %v..%v x%d", p.Path, p.From, p.To, p.Steps, tt.path, tt.from, tt.to, tt.steps)
			}
		})
	}
}

// expandBase has a constant, a poisson and a burst phase; the poisson one
// borrows from the constant's anchor, and the burst one merges it.
const expandBase = `name: expand
seed: 1
phases:
  - &c {kind: constant, rate: 10, duration: 1s}
  - {kind: poisson, rate: 10, duration: 1s}
  - {kind: burst, count: 5, at: 0s, duration: 1s}
  - *c
population: {users: 10, devices_per_user: 2, files_per_user: 4, hot_files: 1, hot_share: 0.2}
coordinator: {concurrency: 8}
`

func TestParam_Expand_Cases(t *testing.T) {
	tests := []struct {
		name   string
		base   string
		param  string
		values []float64
		check  func(t *testing.T, v float64, sc *Scenario)
		err    string
	}{
		{name: "rate sets every constant and poisson phase, aliases stay independent", param: "rate=20..40x3",
			values: []float64{20, 30, 40}, check: func(t *testing.T, v float64, sc *Scenario) {
				if sc.Phases[0].Rate != v || sc.Phases[1].Rate != v || sc.Phases[3].Rate != v || sc.Phases[2].Count != 5 {
					t.Errorf("phases %+v", sc.Phases)
				}
			}},
		{name: "one phase's rate leaves its alias alone", param: "phases[0].rate=50..60x2", values: []float64{50, 60},
			check: func(t *testing.T, v float64, sc *Scenario) {
				if sc.Phases[0].Rate != v || sc.Phases[3].Rate != 10 {
					t.Errorf("phase 0 rate %v, alias phase 3 rate %v", sc.Phases[0].Rate, sc.Phases[3].Rate)
				}
			}},
		{name: "count", param: "phases[2].count=10..30x3", values: []float64{10, 20, 30},
			check: func(t *testing.T, v float64, sc *Scenario) {
				if sc.Phases[2].Count != int64(v) {
					t.Errorf("count %d", sc.Phases[2].Count)
				}
			}},
		{name: "integers are rounded and deduplicated", param: "coordinator.concurrency=1..3x5", values: []float64{1, 2, 3},
			check: func(t *testing.T, v float64, sc *Scenario) {
				if sc.Coordinator.Concurrency != int(v) {
					t.Errorf("concurrency %d", sc.Coordinator.Concurrency)
				}
			}},
		{name: "a field the file does not set", param: "population.devices_per_user=1..3x3", values: []float64{1, 2, 3},
			check: func(t *testing.T, v float64, sc *Scenario) {
				if sc.Population.DevicesPerUser != int(v) || sc.Population.Users != 10 {
					t.Errorf("population %+v", sc.Population)
				}
			}},
		{name: "hot share", param: "population.hot_share=0.1..0.3x3", values: []float64{0.1, 0.2, 0.3},
			check: func(t *testing.T, v float64, sc *Scenario) {
				if sc.Population.HotShare != v {
					t.Errorf("hot share %v", sc.Population.HotShare)
				}
			}},
		{name: "users", param: "population.users=100..200x2", values: []float64{100, 200},
			check: func(t *testing.T, v float64, sc *Scenario) {
				if sc.Population.Users != int(v) {
					t.Errorf("users %d", sc.Population.Users)
				}
			}},
		{name: "a duration takes seconds", param: "phases[1].duration=1..2.5x2", values: []float64{1, 2.5},
			check: func(t *testing.T, v float64, sc *Scenario) {
				if sc.Phases[1].Duration != time.Duration(v*float64(time.Second)) {
					t.Errorf("duration %v", sc.Phases[1].Duration)
				}
			}},
		{name: "a merged key is overridden, not shared",
			base:  strings.Replace(expandBase, "  - *c\n", "  - {<<: *c, duration: 2s}\n", 1),
			param: "phases[3].rate=70", values: []float64{70},
			check: func(t *testing.T, v float64, sc *Scenario) {
				if sc.Phases[3].Rate != 70 || sc.Phases[3].Duration != 2*time.Second || sc.Phases[0].Rate != 10 {
					t.Errorf("phases %+v", sc.Phases)
				}
			}},
		{name: "value out of range names the value and the field", param: "population.hot_share=0.5..1.5x3",
			err: "at population.hot_share=1.5 the scenario is invalid:\nexpand.yaml (population.hot_share=1.5):8: population.hot_share:"},
		{name: "whole numbers only", param: "coordinator.concurrency=1.5..4", err: "coordinator.concurrency takes whole numbers"},
		{name: "unknown field", param: "population.userz=1..2", err: `unknown field "userz" at population (known: users, devices_per_user`},
		{name: "unknown top-level field", param: "rates=1..2", err: `unknown field "rates" at the top level`},
		{name: "list without index", param: "phases.rate=1..2", err: "phases is a list: name an element, e.g. phases[0]"},
		{name: "index out of range", param: "phases[7].rate=1..2", err: "the scenario has 4 phase(s), phases[0]..phases[3]"},
		{name: "not a number", param: "coordinator.strategy=1..2", err: "coordinator.strategy is not a number (it is a string)"},
		{name: "a section", param: "population=1..2", err: "population is not a number (it is a struct)"},
		{name: "index on a non-list", param: "population[0].users=1..2", err: "population is not a list"},
		{name: "rate on a scenario without constant or poisson phases", param: "rate=1..2",
			base: "name: b\nphases: [{kind: burst, count: 5, at: 0s, duration: 1s}]\n", err: "rate sets every constant or poisson phase's rate"},
		{name: "a field the phase kind does not use", param: "phases[2].rate=1..2", err: "at phases[2].rate=1 the scenario is invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := tt.base
			if data == "" {
				data = expandBase
			}
			base, err := Parse("expand.yaml", []byte(data))
			if err != nil {
				t.Fatal(err)
			}
			spec, err := ParseParam(tt.param)
			if err != nil {
				t.Fatal(err)
			}
			pts, err := spec.Expand("expand.yaml", []byte(data), base)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err %v\nwant one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(pts) != len(tt.values) {
				t.Fatalf("%d points, want %v", len(pts), tt.values)
			}
			for i, p := range pts {
				if p.Value != tt.values[i] {
					t.Errorf("point %d value %v, want %v", i, p.Value, tt.values[i])
				}
				tt.check(t, p.Value, p.Scenario)
			}
		})
	}
}
