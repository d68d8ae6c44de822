package main

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/stormsim/stormsim/scenarios"
)

// paramSpec is a parsed --param PATH=FROM..TO[xSTEPS].
type paramSpec struct {
	raw, path, rng string
	segs           []pathSeg
	from, to       float64
	steps          int
}

type pathSeg struct {
	name  string
	index int // -1: no index
}

// parseParam parses --param. A single value (PATH=V) is one point.
func parseParam(s string) (paramSpec, error) {
	bad := func(format string, a ...any) (paramSpec, error) {
		return paramSpec{}, fmt.Errorf("--param %q: %s", s, fmt.Sprintf(format, a...))
	}
	path, rng, ok := strings.Cut(s, "=")
	path, rng = strings.TrimSpace(path), strings.TrimSpace(rng)
	if !ok || path == "" || rng == "" {
		return bad("want PATH=FROM..TO[xSTEPS], e.g. rate=100..800x8")
	}
	p := paramSpec{raw: s, path: path, rng: rng, steps: defaultSweepSteps}
	segs, err := parsePath(path)
	if err != nil {
		return bad("%v", err)
	}
	p.segs = segs
	from, rest, isRange := strings.Cut(rng, "..")
	to := from
	if isRange {
		to = rest
		if i := strings.IndexAny(rest, "xX"); i >= 0 {
			to = rest[:i]
			n, err := strconv.Atoi(strings.TrimSpace(rest[i+1:]))
			if err != nil || n < 1 || n > maxSweepPoints {
				return bad("STEPS %q: want a whole number of points in 1..%d", rest[i+1:], maxSweepPoints)
			}
			p.steps = n
		}
	}
	if p.from, err = parseNumber(from); err != nil {
		return bad("FROM %q: %v", from, err)
	}
	if p.to, err = parseNumber(to); err != nil {
		return bad("TO %q: %v", to, err)
	}
	if p.from == p.to {
		p.steps = 1
	} else if p.steps < 2 {
		return bad("STEPS must be at least 2 when FROM and TO differ")
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

// parsePath splits "phases[0].rate" into segments.
func parsePath(path string) ([]pathSeg, error) {
	var segs []pathSeg
	for _, part := range strings.Split(path, ".") {
		s := pathSeg{name: part, index: -1}
		if i := strings.IndexByte(part, '['); i >= 0 {
			if !strings.HasSuffix(part, "]") {
				return nil, fmt.Errorf("PATH %q: unclosed [ in %q", path, part)
			}
			n, err := strconv.Atoi(part[i+1 : len(part)-1])
			if err != nil || n < 0 {
				return nil, fmt.Errorf("PATH %q: index in %q must be a whole number >= 0", path, part)
			}
			s.name, s.index = part[:i], n
		}
		if !validName(s.name) {
			return nil, fmt.Errorf("PATH %q: %q is not a field name", path, s.name)
		}
		segs = append(segs, s)
	}
	return segs, nil
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		if !(c >= 'a' && c <= 'z' || c == '_' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// expand makes one validated scenario per value: each is the file with the
// value written at PATH, parsed and validated by the same rules as any
// scenario file, so a value out of range is reported before anything runs.
func (p paramSpec) expand(file string, data []byte, base *scenarios.Scenario) ([]sweepPointPlan, error) {
	targets, err := p.targets(base)
	if err != nil {
		return nil, err
	}
	kind, err := leafKind(targets[0])
	if err != nil {
		return nil, fmt.Errorf("--param %q: %w", p.raw, err)
	}
	values, err := p.values(kind)
	if err != nil {
		return nil, err
	}
	var out []sweepPointPlan
	for _, v := range values {
		edited, err := setYAML(data, targets, literal(kind, v))
		if err != nil {
			return nil, fmt.Errorf("--param %q: %w", p.raw, err)
		}
		sc, err := scenarios.Parse(fmt.Sprintf("%s (%s=%s)", file, p.path, formatValue(v)), edited)
		if err != nil {
			return nil, fmt.Errorf("--param %q: at %s=%s the scenario is invalid:\n%w", p.raw, p.path, formatValue(v), relocate(err, data))
		}
		out = append(out, sweepPointPlan{value: v, sc: sc})
	}
	return out, nil
}

// targets resolves PATH to concrete paths; "rate" means the rate of every
// constant and poisson phase.
func (p paramSpec) targets(base *scenarios.Scenario) ([][]pathSeg, error) {
	if p.path != "rate" {
		for _, s := range p.segs {
			if s.name == "phases" && s.index >= len(base.Phases) {
				return nil, fmt.Errorf("--param %q: the scenario has %d phase(s), phases[0]..phases[%d]", p.raw, len(base.Phases), len(base.Phases)-1)
			}
		}
		return [][]pathSeg{p.segs}, nil
	}
	var out [][]pathSeg
	for i, ph := range base.Phases {
		if ph.Kind == "constant" || ph.Kind == "poisson" {
			out = append(out, []pathSeg{{name: "phases", index: i}, {name: "rate", index: -1}})
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("--param %q: rate sets every constant or poisson phase's rate, and the scenario has none (name one, e.g. phases[0].count)", p.raw)
	}
	return out, nil
}

// values lists the points: STEPS values evenly spaced from FROM to TO,
// whole numbers for integer fields (duplicates after rounding dropped).
func (p paramSpec) values(kind string) ([]float64, error) {
	whole := kind == "int" || kind == "uint"
	if whole && (p.from != math.Trunc(p.from) || p.to != math.Trunc(p.to)) {
		return nil, fmt.Errorf("--param %q: %s takes whole numbers", p.raw, p.path)
	}
	var out []float64
	for i := range p.steps {
		v := p.from
		if p.steps > 1 {
			v = p.from + (p.to-p.from)*float64(i)/float64(p.steps-1)
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

var durationType = reflect.TypeFor[time.Duration]()

// leafKind finds the Go type behind a scenario path by its YAML names:
// "int", "uint", "float" or "duration" (seconds on the command line).
func leafKind(segs []pathSeg) (string, error) {
	t := reflect.TypeFor[scenarios.Scenario]()
	at := ""
	for _, s := range segs {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct {
			return "", fmt.Errorf("%s is a value, not a section", at)
		}
		ft, names, ok := yamlField(t, s.name)
		if !ok {
			where := at
			if where == "" {
				where = "the top level"
			}
			return "", fmt.Errorf("unknown field %q at %s (known: %s)", s.name, where, strings.Join(names, ", "))
		}
		at = strings.TrimPrefix(at+"."+s.name, ".")
		t = ft
		switch {
		case s.index >= 0 && t.Kind() != reflect.Slice:
			return "", fmt.Errorf("%s is not a list", at)
		case s.index >= 0:
			t = t.Elem()
			at += fmt.Sprintf("[%d]", s.index)
		case t.Kind() == reflect.Slice:
			return "", fmt.Errorf("%s is a list: name an element, e.g. %s[0]", at, at)
		}
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == durationType:
		return "duration", nil
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Int64:
		return "int", nil
	case t.Kind() >= reflect.Uint && t.Kind() <= reflect.Uint64:
		return "uint", nil
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		return "float", nil
	}
	return "", fmt.Errorf("%s is not a number (it is a %s)", at, t.Kind())
}

// yamlField finds the field with YAML name want in t, looking into inline
// structs; names lists the known names when it is not found.
func yamlField(t reflect.Type, want string) (reflect.Type, []string, bool) {
	var names []string
	for i := range t.NumField() {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if strings.Contains(opts, "inline") {
			ft, more, ok := yamlField(f.Type, want)
			if ok {
				return ft, nil, true
			}
			names = append(names, more...)
			continue
		}
		if name == "" || name == "-" || !f.IsExported() {
			continue
		}
		if name == want {
			return f.Type, nil, true
		}
		names = append(names, name)
	}
	return nil, names, false
}

// literal is v as a YAML scalar for a field of kind.
func literal(kind string, v float64) string {
	if kind == "duration" {
		return formatValue(v) + "s"
	}
	return formatValue(v)
}

func formatValue(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// maxYAMLNodes bounds alias expansion (the scenario loader has its own
// limits; this one guards the copy made here).
const maxYAMLNodes = 1_000_000

// setYAML writes lit at each target path of a scenario file and returns
// the new file. Aliases are expanded first so that an edit stays local to
// its path; a key that comes only from a merge ("<<") is copied into an
// explicit key, which overrides the merge.
func setYAML(data []byte, targets [][]pathSeg, lit string) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("parse scenario: %w", err)
	}
	if len(doc.Content) == 0 {
		doc = yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{{Kind: yaml.MappingNode}}}
	}
	budget := maxYAMLNodes
	if err := expandAliases(doc.Content[0], &budget); err != nil {
		return nil, err
	}
	for _, segs := range targets {
		if err := setPath(doc.Content[0], segs, lit); err != nil {
			return nil, err
		}
	}
	out, err := yaml.Marshal(&doc)
	if err != nil {
		return nil, fmt.Errorf("write scenario: %w", err)
	}
	return out, nil
}

func setPath(n *yaml.Node, segs []pathSeg, lit string) error {
	at := ""
	for i, s := range segs {
		last := i == len(segs)-1
		at = strings.TrimPrefix(at+"."+s.name, ".")
		if n.Kind != yaml.MappingNode {
			return fmt.Errorf("the file's %s is not a mapping", at)
		}
		child := mapChild(n, s.name)
		if child == nil {
			if s.index >= 0 {
				return fmt.Errorf("the file has no %s list", at)
			}
			child = &yaml.Node{Kind: yaml.MappingNode}
			n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: s.name}, child)
		}
		if s.index >= 0 {
			if child.Kind != yaml.SequenceNode || s.index >= len(child.Content) {
				return fmt.Errorf("the file's %s has no element %d", at, s.index)
			}
			child = child.Content[s.index]
			at += fmt.Sprintf("[%d]", s.index)
		}
		if last {
			*child = yaml.Node{Kind: yaml.ScalarNode, Value: lit, LineComment: child.LineComment, Line: child.Line}
			return nil
		}
		n = child
	}
	return nil
}

// mapChild returns the value of key in mapping m, copying it out of a
// merged mapping into an explicit key when needed; nil when absent.
func mapChild(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if k := m.Content[i]; k.Value == key && k.ShortTag() != "!!merge" {
			return m.Content[i+1]
		}
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].ShortTag() != "!!merge" {
			continue
		}
		srcs := []*yaml.Node{m.Content[i+1]}
		if m.Content[i+1].Kind == yaml.SequenceNode {
			srcs = m.Content[i+1].Content
		}
		for _, src := range srcs {
			if src.Kind != yaml.MappingNode {
				continue
			}
			if v := mapChild(src, key); v != nil {
				cp := deepCopy(v)
				m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: key}, cp)
				return cp
			}
		}
	}
	return nil
}

func expandAliases(n *yaml.Node, budget *int) error {
	if *budget--; *budget < 0 {
		return errors.New("scenario too large to edit (aliases expand past 1,000,000 nodes)")
	}
	n.Anchor = ""
	for i, c := range n.Content {
		if c.Kind == yaml.AliasNode && c.Alias != nil {
			n.Content[i] = deepCopy(c.Alias)
		}
		if err := expandAliases(n.Content[i], budget); err != nil {
			return err
		}
	}
	return nil
}

func deepCopy(n *yaml.Node) *yaml.Node {
	c := *n
	c.Anchor = ""
	c.Content = make([]*yaml.Node, len(n.Content))
	for i, k := range n.Content {
		c.Content[i] = deepCopy(k)
	}
	return &c
}

// relocate points validation errors at the lines of the original file:
// the edited copy was written out again, so its line numbers differ. A
// field the original does not set gets no line.
func relocate(err error, original []byte) error {
	var doc yaml.Node
	if yaml.Unmarshal(original, &doc) != nil || len(doc.Content) == 0 {
		return err
	}
	fix := func(fe *scenarios.FieldError) *scenarios.FieldError {
		c := *fe
		c.Line = lineOf(doc.Content[0], fe.Field)
		return &c
	}
	var list scenarios.ErrorList
	if errors.As(err, &list) {
		out := make(scenarios.ErrorList, len(list))
		for i, fe := range list {
			out[i] = fix(fe)
		}
		return out
	}
	var fe *scenarios.FieldError
	if errors.As(err, &fe) {
		return fix(fe)
	}
	return err
}

// lineOf finds where field ("phases[1].rate") is set in the file, through
// aliases and merge keys; 0 when it is not.
func lineOf(n *yaml.Node, field string) int {
	segs, err := parsePath(field)
	if err != nil {
		return 0
	}
	line := 0
	for _, s := range segs {
		k, v := lookup(n, s.name)
		if v == nil {
			return 0
		}
		line, n = k.Line, v
		if s.index >= 0 {
			if n.Kind != yaml.SequenceNode || s.index >= len(n.Content) {
				return 0
			}
			n = resolveAlias(n.Content[s.index])
			line = n.Line
		}
	}
	return line
}

// lookup is mapChild without the copy: key and value of key in mapping m.
func lookup(m *yaml.Node, key string) (*yaml.Node, *yaml.Node) {
	m = resolveAlias(m)
	if m.Kind != yaml.MappingNode {
		return nil, nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if k := m.Content[i]; k.Value == key && k.ShortTag() != "!!merge" {
			return k, resolveAlias(m.Content[i+1])
		}
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].ShortTag() != "!!merge" {
			continue
		}
		src := resolveAlias(m.Content[i+1])
		srcs := []*yaml.Node{src}
		if src.Kind == yaml.SequenceNode {
			srcs = src.Content
		}
		for _, s := range srcs {
			if k, v := lookup(s, key); v != nil {
				return k, v
			}
		}
	}
	return nil, nil
}

func resolveAlias(n *yaml.Node) *yaml.Node {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < 100; i++ {
		n = n.Alias
	}
	return n
}
