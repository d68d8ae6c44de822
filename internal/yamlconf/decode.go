package yamlconf

import (
	"fmt"
	"reflect"
	"slices"
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

// Unit names what a number in a field measures. A field's `unit:"..."`
// tag sets it ("none" for a plain number); Units.Struct sets it for a
// whole struct. The empty Unit is a plain number.
type Unit string

// Units teaches a Decoder the quantities and defaults of one file format.
type Units interface {
	// Struct returns the unit of the fields of a struct of type t found in
	// a field of unit outer (fields with a unit tag keep theirs).
	Struct(t reflect.Type, outer Unit) Unit
	// Quantity parses s, written in a numeric field of unit u (never
	// empty), into base units.
	Quantity(s string, u Unit) (float64, error)
	// Want names what a numeric field of unit u accepts, for "must be
	// WANT, got X".
	Want(u Unit) string
	// Duration parses the text of a time.Duration field.
	Duration(s string) (time.Duration, error)
	// DurationWant names what a duration field accepts.
	DurationWant() string
	// New returns a fresh value of type t for a pointer or list element,
	// from defaults where the type has them; ok false for the zero value.
	New(t reflect.Type) (v reflect.Value, ok bool)
	// Mapping is called before a mapping is decoded into struct v (to
	// reset a default that the mapping replaces whole).
	Mapping(n *yaml.Node, v reflect.Value)
}

var durationType = reflect.TypeFor[time.Duration]()

// Decoder walks a yaml.Node tree into a Go value strictly: unknown fields,
// duplicate keys and wrong types are errors that keep their line. It also
// records where each field was set, so validation can name lines too.
// Field names come from `yaml:"name"` tags (",inline" embeds a struct).
type Decoder struct {
	File  string
	Kind  error             // the caller's sentinel, wrapped by every error
	Units Units             // nil: plain numbers, Go durations
	Lines map[string]int    // field path -> line of its key or element
	Raw   map[string]string // field path -> scalar text as written
	Errs  ErrorList
	nodes int
	stop  bool
}

// NewDecoder returns a decoder for the file called file.
func NewDecoder(file string, kind error, units Units) *Decoder {
	return &Decoder{File: file, Kind: kind, Units: units, Lines: map[string]int{}, Raw: map[string]string{}}
}

// Decode decodes root, a mapping, over the struct v points to.
func (d *Decoder) Decode(root *yaml.Node, v any, what string) {
	if root == nil {
		return
	}
	if root.Kind != yaml.MappingNode {
		d.Fail(root, "", "%s must be a mapping, got %s", what, Describe(root))
		return
	}
	d.decode(root, reflect.ValueOf(v).Elem(), "", "", 0)
}

// Fail records a problem at node n (line 0 when n is nil).
func (d *Decoder) Fail(n *yaml.Node, path, format string, args ...any) {
	line := 0
	if n != nil {
		line = n.Line
	}
	d.Failf(line, path, format, args...)
}

// Failf records a problem at a line; past MaxErrors the decoder stops.
func (d *Decoder) Failf(line int, path, format string, args ...any) {
	if len(d.Errs) >= MaxErrors {
		d.stop = true
		return
	}
	d.Errs = append(d.Errs, &FieldError{File: d.File, Line: line, Field: path, Msg: fmt.Sprintf(format, args...), Kind: d.Kind})
}

// Line returns the line of path, or of its nearest ancestor in the file.
func (d *Decoder) Line(path string) int { return NearestLine(d.Lines, path) }

// NearestLine returns the line lines records for path, or for its nearest
// ancestor ("phases[1]" for "phases[1].rate"); 0 when none is recorded.
func NearestLine(lines map[string]int, path string) int {
	for p := path; p != ""; p = parentPath(p) {
		if l, ok := lines[p]; ok {
			return l
		}
	}
	return 0
}

func parentPath(p string) string {
	i := strings.LastIndexAny(p, ".[")
	if i < 0 {
		return ""
	}
	return p[:i]
}

// resolve follows aliases, counting each step against the node budget.
func (d *Decoder) resolve(n *yaml.Node, path string) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode; i++ {
		d.nodes++
		if n.Alias == nil || i > maxDepth {
			d.Fail(n, path, "bad alias")
			return nil
		}
		n = n.Alias
	}
	return n
}

func (d *Decoder) decode(n *yaml.Node, v reflect.Value, path string, u Unit, depth int) {
	if d.stop {
		return
	}
	if n = d.resolve(n, path); n == nil {
		return
	}
	if d.nodes++; d.nodes > maxNodes {
		d.Fail(n, path, "too many nodes (more than %d, counting alias expansion)", maxNodes)
		d.stop = true
		return
	}
	if depth > maxDepth {
		d.Fail(n, path, "nested too deeply")
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
			v.Set(d.newValue(v.Type().Elem()).Addr())
		}
		d.decode(n, v.Elem(), path, u, depth+1)
	case v.Kind() == reflect.Struct:
		if !null {
			d.decodeStruct(n, v, path, u, depth)
		}
	case v.Kind() == reflect.Slice:
		d.decodeSlice(n, v, path, u, depth, null)
	case null:
		d.Fail(n, path, "missing value")
	case v.Kind() == reflect.String:
		// A date ("as_of: 2026-01-31") is text too, kept as written.
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" && n.ShortTag() != "!!timestamp" {
			d.Fail(n, path, "must be a string, got %s", Describe(n))
			return
		}
		v.SetString(n.Value)
	case v.Kind() == reflect.Bool:
		b, ok := parseBool(n)
		if !ok {
			d.Fail(n, path, "must be true or false, got %s", Describe(n))
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
		d.Fail(n, path, "unsupported field type %s", v.Type())
	}
}

// newValue returns a fresh element, from defaults where Units has them.
func (d *Decoder) newValue(t reflect.Type) reflect.Value {
	if d.Units != nil {
		if v, ok := d.Units.New(t); ok {
			return v
		}
	}
	return reflect.New(t).Elem()
}

func (d *Decoder) decodeSlice(n *yaml.Node, v reflect.Value, path string, u Unit, depth int, null bool) {
	if null {
		v.SetZero()
		return
	}
	if n.Kind != yaml.SequenceNode {
		d.Fail(n, path, "must be a list, got %s", Describe(n))
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, c := range n.Content {
		p := fmt.Sprintf("%s[%d]", path, i)
		d.Lines[p] = c.Line
		e := d.newValue(v.Type().Elem())
		d.decode(c, e, p, u, depth+1)
		s.Index(i).Set(e)
	}
	v.Set(s)
}

type fieldInfo struct {
	index []int
	unit  Unit
	set   bool // unit given by a tag
}

type structInfo struct {
	fields map[string]fieldInfo
	names  []string // in declaration order
}

var structCache sync.Map // reflect.Type -> *structInfo

// structOf lists the YAML fields of struct type t, inline structs
// flattened.
func structOf(t reflect.Type) *structInfo {
	if si, ok := structCache.Load(t); ok {
		return si.(*structInfo)
	}
	si := &structInfo{fields: map[string]fieldInfo{}}
	var walk func(t reflect.Type, prefix []int)
	walk = func(t reflect.Type, prefix []int) {
		for i := range t.NumField() {
			f := t.Field(i)
			name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			idx := append(append([]int(nil), prefix...), i)
			if opts == "inline" {
				walk(f.Type, idx)
				continue
			}
			if name == "" || name == "-" || !f.IsExported() {
				continue
			}
			fi := fieldInfo{index: idx}
			if tag, ok := f.Tag.Lookup("unit"); ok {
				fi.unit, fi.set = Unit(tag), true
				if tag == "none" {
					fi.unit = ""
				}
			}
			si.fields[name] = fi
			si.names = append(si.names, name)
		}
	}
	walk(t, nil)
	structCache.Store(t, si)
	return si
}

func (d *Decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string, u Unit, depth int) {
	if n.Kind != yaml.MappingNode {
		d.Fail(n, path, "must be a mapping, got %s", Describe(n))
		return
	}
	if d.Units == nil {
		u = ""
	} else {
		u = d.Units.Struct(v.Type(), u)
		d.Units.Mapping(n, v)
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
			d.Fail(k, path, "field names must be strings, got %s", Describe(k))
			continue
		}
		fp := k.Value
		if path != "" {
			fp = path + "." + k.Value
		}
		if first, dup := seen[k.Value]; dup {
			d.Fail(k, fp, "duplicate field (first set at line %d)", first)
			continue
		}
		seen[k.Value] = k.Line
		fi, ok := si.fields[k.Value]
		if !ok {
			d.Fail(k, fp, "unknown field%s", hint(k.Value, si.names))
			continue
		}
		d.Lines[fp] = k.Line
		if r := d.resolve(val, fp); r != nil && r.Kind == yaml.ScalarNode {
			d.Raw[fp] = r.Value
		}
		fu := u
		if fi.set {
			fu = fi.unit
		}
		d.decode(val, v.FieldByIndex(fi.index), fp, fu, depth+1)
	}
}

func (d *Decoder) merge(n *yaml.Node, v reflect.Value, path string, u Unit, depth int) {
	if n = d.resolve(n, path); n == nil {
		return
	}
	if d.nodes++; depth > maxDepth || d.nodes > maxNodes {
		d.Fail(n, path, "too many merges")
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

// maxListedFields bounds the fields an "unknown field" error lists when
// no known name is close.
const maxListedFields = 8

// hint suggests a near miss, or lists the known names of a small section.
func hint(name string, names []string) string {
	if s := Suggest(name, names); s != "" || len(names) > maxListedFields {
		return s
	}
	return " (known: " + strings.Join(slices.Sorted(slices.Values(names)), ", ") + ")"
}
