package scenarios

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/stormsim/stormsim/internal/yamlconf"
)

// Bounds of a sweep parameter's range.
const (
	// DefaultParamSteps is the number of points when a range gives no
	// xSTEPS.
	DefaultParamSteps = 5
	// MaxParamSteps bounds the points of one range.
	MaxParamSteps = 100
)

// Param is a path override over a range of values, PATH=FROM..TO[xSTEPS]
// (simrun sweep --param): STEPS values evenly spaced from FROM to TO
// written at PATH, a dotted scenario path such as "phases[0].rate". The
// path "rate" means the rate of every constant and poisson phase.
type Param struct {
	Path     string // as given: "rate", "phases[0].rate"
	Range    string // as given: "100..800x8"
	From, To float64
	Steps    int
	steps    yamlconf.Path
}

// ParseParam parses PATH=FROM..TO[xSTEPS]; a single value (PATH=V) is one
// point.
func ParseParam(s string) (Param, error) {
	path, rng, ok := strings.Cut(s, "=")
	path, rng = strings.TrimSpace(path), strings.TrimSpace(rng)
	if !ok || path == "" || rng == "" {
		return Param{}, errors.New("want PATH=FROM..TO[xSTEPS], e.g. rate=100..800x8")
	}
	p := Param{Path: path, Range: rng, Steps: DefaultParamSteps}
	var err error
	if p.steps, err = yamlconf.ParsePath(path); err != nil {
		return Param{}, err
	}
	from, rest, isRange := strings.Cut(rng, "..")
	to := from
	if isRange {
		to = rest
		if i := strings.IndexAny(rest, "xX"); i >= 0 {
			to = rest[:i]
			n, err := strconv.Atoi(strings.TrimSpace(rest[i+1:]))
			if err != nil || n < 1 || n > MaxParamSteps {
				return Param{}, fmt.Errorf("STEPS %q: want a whole number of points in 1..%d", rest[i+1:], MaxParamSteps)
			}
			p.Steps = n
		}
	}
	if p.From, err = parseNumber(from); err != nil {
		return Param{}, fmt.Errorf("FROM %q: %w", from, err)
	}
	if p.To, err = parseNumber(to); err != nil {
		return Param{}, fmt.Errorf("TO %q: %w", to, err)
	}
	if p.From == p.To {
		p.Steps = 1
	} else if p.Steps < 2 {
		return Param{}, errors.New("STEPS must be at least 2 when FROM and TO differ")
	}
	return p, nil
}

func parseNumber(s string) (float64, error) {
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, errors.New("not a number")
	}
	return v, nil
}

// Point is one value of a Param and the scenario it gives.
type Point struct {
	Value    float64
	Scenario *Scenario
}

// Expand makes one validated scenario per value: each is the file (data,
// named file) with the value written at the path, parsed and validated by
// the same rules as any scenario file, so a value out of range is
// reported before anything runs, at the line of the original file.
func (p Param) Expand(file string, data []byte, base *Scenario) ([]Point, error) {
	targets, err := p.targets(base)
	if err != nil {
		return nil, err
	}
	kind, err := leafKind(targets[0])
	if err != nil {
		return nil, err
	}
	values, err := p.values(kind)
	if err != nil {
		return nil, err
	}
	var out []Point
	for _, v := range values {
		edited, err := yamlconf.Set(data, targets, literal(kind, v))
		if err != nil {
			return nil, err
		}
		sc, err := Parse(fmt.Sprintf("%s (%s=%s)", file, p.Path, FormatValue(v)), edited)
		if err != nil {
			return nil, fmt.Errorf("at %s=%s the scenario is invalid:\n%w", p.Path, FormatValue(v), yamlconf.Relocate(err, data))
		}
		out = append(out, Point{Value: v, Scenario: sc})
	}
	return out, nil
}

// targets resolves the path to concrete paths; "rate" means the rate of
// every constant and poisson phase.
func (p Param) targets(base *Scenario) ([]yamlconf.Path, error) {
	if p.Path != "rate" {
		for _, s := range p.steps {
			if s.Name == "phases" && s.Index >= len(base.Phases) {
				return nil, fmt.Errorf("the scenario has %d phase(s), phases[0]..phases[%d]", len(base.Phases), len(base.Phases)-1)
			}
		}
		return []yamlconf.Path{p.steps}, nil
	}
	var out []yamlconf.Path
	for i, ph := range base.Phases {
		if ph.Kind == "constant" || ph.Kind == "poisson" {
			out = append(out, yamlconf.Path{{Name: "phases", Index: i}, {Name: "rate", Index: -1}})
		}
	}
	if len(out) == 0 {
		return nil, errors.New("rate sets every constant or poisson phase's rate, and the scenario has none (name one, e.g. phases[0].count)")
	}
	return out, nil
}

// values lists the points: Steps values evenly spaced from From to To,
// whole numbers for integer fields (duplicates after rounding dropped).
func (p Param) values(kind string) ([]float64, error) {
	whole := kind == "int" || kind == "uint"
	if whole && (p.From != math.Trunc(p.From) || p.To != math.Trunc(p.To)) {
		return nil, fmt.Errorf("%s takes whole numbers", p.Path)
	}
	var out []float64
	for i := range p.Steps {
		v := p.From
		if p.Steps > 1 {
			v = p.From + (p.To-p.From)*float64(i)/float64(p.Steps-1)
		}
		if whole {
			v = math.Round(v)
		} else {
			v = math.Round(v*1e9) / 1e9 // 0.1+0.2 prints as 0.3
		}
		if len(out) > 0 && out[len(out)-1] == v {
			continue
		}
		out = append(out, v)
	}
	return out, nil
}

// leafKind finds the Go type behind a scenario path by its YAML names:
// "int", "uint", "float" or "duration" (seconds on the command line).
func leafKind(p yamlconf.Path) (string, error) {
	t, err := yamlconf.FieldType(reflect.TypeFor[Scenario](), p)
	if err != nil {
		return "", err
	}
	switch {
	case t == reflect.TypeFor[time.Duration]():
		return "duration", nil
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Int64:
		return "int", nil
	case t.Kind() >= reflect.Uint && t.Kind() <= reflect.Uint64:
		return "uint", nil
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		return "float", nil
	}
	return "", fmt.Errorf("%s is not a number (it is a %s)", p, t.Kind())
}

// literal is v as a YAML scalar for a field of kind.
func literal(kind string, v float64) string {
	if kind == "duration" {
		return FormatValue(v) + "s"
	}
	return FormatValue(v)
}

// FormatValue prints a parameter value the short way ("0.3", "250").
func FormatValue(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// capacityParams are paths where more means more capacity, not more load.
var capacityParams = map[string]bool{
	"coordinator.concurrency": true, "coordinator.lock_ttl": true, "coordinator.retries": true,
	"delivery.queue_size": true, "population.files_per_user": true, "drain": true,
	"wait.poll.max_polls": true, "wait.poll.timeout": true,
}

// DemandRises reports whether raising the parameter at path raises the
// demand on the system (rate, users, hot share) rather than its capacity
// (concurrency, lock TTL, queue size): a sweep's knee is the largest value
// that holds for the first and the smallest for the second.
func DemandRises(path string) bool { return !capacityParams[path] }
