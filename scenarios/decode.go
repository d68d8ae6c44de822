package scenarios

import (
	"fmt"
	"reflect"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"
)

// Bounds on what one file may make the decoder do. Aliases are followed,
// so a small file could otherwise expand into billions of nodes.
const (
	maxNodes = 100_000
	maxDepth = 32
)

var (
	durationType  = reflect.TypeFor[time.Duration]()
	distType      = reflect.TypeFor[Dist]()
	sizesType     = reflect.TypeFor[Sizes]()
	schedulerType = reflect.TypeFor[Scheduler]()
	faultType     = reflect.TypeFor[Fault]()
)

// decoder walks a yaml.Node tree into a Scenario strictly: unknown fields,
// duplicate keys and wrong types are errors that keep their line. It also
// records where each field was set, so validation can name lines too.
type decoder struct {
	file  string
	lines map[string]int    // field path -> line of its key or element
	raw   map[string]string // field path -> scalar text as written
	errs  ErrorList
	nodes int
	stop  bool
}

func newDecoder(file string) *decoder {
	return &decoder{file: file, lines: map[string]int{}, raw: map[string]string{}}
}

func (d *decoder) fail(n *yaml.Node, path, format string, args ...any) {
	if len(d.errs) >= maxErrors {
		d.stop = true
		return
	}
	line := 0
	if n != nil {
		line = n.Line
	}
	d.errs = append(d.errs, &FieldError{File: d.file, Line: line, Field: path, Msg: fmt.Sprintf(format, args...)})
}

// resolve follows aliases, counting each step against the node budget.
func (d *decoder) resolve(n *yaml.Node, path string) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode; i++ {
		d.nodes++
		if n.Alias == nil || i > maxDepth {
			d.fail(n, path, "bad alias")
			return nil
		}
		n = n.Alias
	}
	return n
}

func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string, u unit, depth int) {
	if d.stop {
		return
	}
	if n = d.resolve(n, path); n == nil {
		return
	}
	if d.nodes++; d.nodes > maxNodes {
		d.fail(n, path, "too many nodes (more than %d, counting alias expansion)", maxNodes)
		d.stop = true
		return
	}
	if depth > maxDepth {
		d.fail(n, path, "nested too deeply")
		d.stop = true
		return
	}
	null := n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
	switch {
	case v.Type() == durationType:
		d.decodeDuration(n, v, path)
	case v.Kind() == reflect.Pointer:
		if null {
			v.SetZero()
			return
		}
		if v.IsNil() {
			v.Set(newValue(v.Type().Elem()).Addr())
		}
		d.decode(n, v.Elem(), path, u, depth+1)
	case v.Kind() == reflect.Struct:
		if !null {
			d.decodeStruct(n, v, path, u, depth)
		}
	case v.Kind() == reflect.Slice:
		d.decodeSlice(n, v, path, u, depth, null)
	case null:
		d.fail(n, path, "missing value")
	case v.Kind() == reflect.String:
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
			d.fail(n, path, "must be a string, got %s", describe(n))
			return
		}
		v.SetString(n.Value)
	case v.Kind() == reflect.Bool:
		b, ok := parseBool(n)
		if !ok {
			d.fail(n, path, "must be true or false, got %s", describe(n))
			return
		}
		v.SetBool(b)
	case v.CanInt():
		d.decodeInt(n, v, path, u)
	case v.CanUint():
		d.decodeUint(n, v, path)
	case v.CanFloat():
		d.decodeFloat(n, v, path, u)
	default:
		d.fail(n, path, "unsupported field type %s", v.Type())
	}
}

// newValue returns a fresh element, starting from defaults where a type
// has them (a scheduler section, a fault).
func newValue(t reflect.Type) reflect.Value {
	v := reflect.New(t).Elem()
	switch t {
	case schedulerType:
		v.Set(reflect.ValueOf(*DefaultScheduler()))
	case faultType:
		v.Set(reflect.ValueOf(defaultFault()))
	}
	return v
}

func (d *decoder) decodeSlice(n *yaml.Node, v reflect.Value, path string, u unit, depth int, null bool) {
	if null {
		v.SetZero()
		return
	}
	if n.Kind != yaml.SequenceNode {
		d.fail(n, path, "must be a list, got %s", describe(n))
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, c := range n.Content {
		p := fmt.Sprintf("%s[%d]", path, i)
		d.lines[p] = c.Line
		e := newValue(v.Type().Elem())
		d.decode(c, e, p, u, depth+1)
		s.Index(i).Set(e)
	}
	v.Set(s)
}

type fieldInfo struct {
	index []int
	unit  unit
	set   bool // unit given by a tag
}

type structInfo struct {
	fields map[string]fieldInfo
	names  []string
}

var structCache sync.Map // reflect.Type -> *structInfo

func structOf(t reflect.Type) *structInfo {
	if si, ok := structCache.Load(t); ok {
		return si.(*structInfo)
	}
	si := &structInfo{fields: map[string]fieldInfo{}}
	var walk func(t reflect.Type, prefix []int)
	walk = func(t reflect.Type, prefix []int) {
		for i := range t.NumField() {
			f := t.Field(i)
			tag := f.Tag.Get("yaml")
			name, opts, _ := strings.Cut(tag, ",")
			idx := append(append([]int(nil), prefix...), i)
			if opts == "inline" {
				walk(f.Type, idx)
				continue
			}
			if name == "-" || !f.IsExported() {
				continue
			}
			fi := fieldInfo{index: idx}
			switch f.Tag.Get("unit") {
			case "bytes":
				fi.unit, fi.set = unitBytes, true
			case "none":
				fi.unit, fi.set = unitNone, true
			case "fraction":
				fi.unit, fi.set = unitFraction, true
			}
			si.fields[name] = fi
			si.names = append(si.names, name)
		}
	}
	walk(t, nil)
	structCache.Store(t, si)
	return si
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string, u unit, depth int) {
	if n.Kind != yaml.MappingNode {
		d.fail(n, path, "must be a mapping, got %s", describe(n))
		return
	}
	// Units for distribution fields: bytes under sizes, seconds for every
	// other distribution, inherited by mix entries.
	switch {
	case v.Type() == sizesType:
		u = unitBytes
	case v.Type() == distType || v.Type() == reflect.TypeFor[WeightedDist]():
		if u == unitNone {
			u = unitSeconds
		}
	default:
		u = unitNone
	}
	// A distribution given with a kind replaces the default one whole.
	if hasKey(n, "kind") {
		if v.Type() == distType {
			v.SetZero()
		} else if f := v.FieldByName("Dist"); f.IsValid() && f.Type() == distType {
			f.SetZero()
		}
	}
	si := structOf(v.Type())
	// Merge keys ("<<: *anchor") first, so explicit keys override them.
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i]; k.ShortTag() == "!!merge" {
			d.merge(n.Content[i+1], v, path, u, depth)
		}
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content) && !d.stop; i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.ShortTag() == "!!merge" {
			continue
		}
		if k.Kind != yaml.ScalarNode || k.ShortTag() != "!!str" {
			d.fail(k, path, "field names must be strings, got %s", describe(k))
			continue
		}
		fp := k.Value
		if path != "" {
			fp = path + "." + k.Value
		}
		if first, dup := seen[k.Value]; dup {
			d.fail(k, fp, "duplicate field (first set at line %d)", first)
			continue
		}
		seen[k.Value] = k.Line
		fi, ok := si.fields[k.Value]
		if !ok {
			d.fail(k, fp, "unknown field%s", suggest(k.Value, si.names))
			continue
		}
		d.lines[fp] = k.Line
		if r := d.resolve(val, fp); r != nil && r.Kind == yaml.ScalarNode {
			d.raw[fp] = r.Value
		}
		fu := u
		if fi.set {
			fu = fi.unit
		}
		d.decode(val, v.FieldByIndex(fi.index), fp, fu, depth+1)
	}
}

func (d *decoder) merge(n *yaml.Node, v reflect.Value, path string, u unit, depth int) {
	if n = d.resolve(n, path); n == nil {
		return
	}
	if d.nodes++; depth > maxDepth || d.nodes > maxNodes {
		d.fail(n, path, "too many merges")
		d.stop = true
		return
	}
	if n.Kind == yaml.SequenceNode {
		for _, c := range n.Content {
			d.merge(c, v, path, u, depth+1)
		}
		return
	}
	d.decodeStruct(n, v, path, u, depth+1)
}

func hasKey(n *yaml.Node, key string) bool {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Kind == yaml.ScalarNode && n.Content[i].Value == key {
			return true
		}
	}
	return false
}
