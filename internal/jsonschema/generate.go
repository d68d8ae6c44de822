package jsonschema

import (
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"
)

// snake is the only key spelling the contract allows ("t", "p999",
// "latency_seconds").
var snake = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)

// Generator turns Go types into schemas the way encoding/json writes
// them. Named struct types become $defs entries, referenced by their Go
// name. Errors (a key that is not snake_case, a type JSON cannot write)
// are collected and returned by Err, so one pass names them all.
type Generator struct {
	// Enums lists the values of named string types (history.Outcome).
	Enums map[reflect.Type][]string
	// FieldEnums lists the values of plain string fields, keyed by Go
	// names "Type.Field" (for report.Results.Verdict: "Results.Verdict").
	FieldEnums map[string][]string

	defs  map[string]*Schema
	owner map[string]reflect.Type
	used  map[string]bool
	errs  []error
}

var (
	timeType      = reflect.TypeFor[time.Time]()
	marshalerType = reflect.TypeFor[json.Marshaler]()
	textType      = reflect.TypeFor[encoding.TextMarshaler]()
)

// Schema returns the schema of t: a $ref for a named struct, which it
// adds to Defs with every struct it reaches.
func (g *Generator) Schema(t reflect.Type) *Schema {
	if g.defs == nil {
		g.defs, g.owner, g.used = map[string]*Schema{}, map[string]reflect.Type{}, map[string]bool{}
	}
	switch {
	case t == timeType:
		return &Schema{Type: Types{"string"}, Format: "date-time"}
	case t.Kind() == reflect.Pointer:
		return g.Schema(t.Elem())
	case t.Implements(marshalerType) || t.Implements(textType):
		g.errs = append(g.errs, fmt.Errorf("type %s: custom JSON marshaling has no generated schema", t))
		return &Schema{}
	}
	switch t.Kind() {
	case reflect.Struct:
		if t.Name() == "" {
			return g.object(t)
		}
		name := t.Name()
		if prev, ok := g.owner[name]; ok {
			if prev != t {
				g.errs = append(g.errs, fmt.Errorf("types %s and %s: both named %s in $defs", prev, t, name))
			}
			return &Schema{Ref: "#/$defs/" + name}
		}
		g.owner[name] = t
		g.defs[name] = nil // reserved: a recursive type refers to itself
		g.defs[name] = g.object(t)
		return &Schema{Ref: "#/$defs/" + name}
	case reflect.String:
		s := &Schema{Type: Types{"string"}}
		if vals, ok := g.Enums[t]; ok {
			s.Enum = vals
		}
		return s
	case reflect.Bool:
		return &Schema{Type: Types{"boolean"}}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return &Schema{Type: Types{"integer"}}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		zero := 0.0
		return &Schema{Type: Types{"integer"}, Minimum: &zero}
	case reflect.Float32, reflect.Float64:
		return &Schema{Type: Types{"number"}}
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return &Schema{Type: Types{"string"}, Format: "byte"} // base64
		}
		return &Schema{Type: Types{"array"}, Items: g.Schema(t.Elem())}
	case reflect.Array:
		n := t.Len()
		return &Schema{Type: Types{"array"}, Items: g.Schema(t.Elem()), MinItems: &n, MaxItems: &n}
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			g.errs = append(g.errs, fmt.Errorf("type %s: map keys must be strings", t))
		}
		return &Schema{Type: Types{"object"}, AdditionalProperties: g.Schema(t.Elem())}
	case reflect.Interface:
		return &Schema{} // anything
	}
	g.errs = append(g.errs, fmt.Errorf("type %s: kind %s cannot be written as JSON", t, t.Kind()))
	return &Schema{}
}

// object is the schema of a struct's fields. A field without omitempty or
// omitzero is always written, so it is required; when its Go value can be
// nil (slice, map, pointer) it may be written as null.
func (g *Generator) object(t reflect.Type) *Schema {
	s := &Schema{Type: Types{"object"}, Properties: map[string]*Schema{}}
	g.fields(t, t, s)
	return s
}

func (g *Generator) fields(owner, t reflect.Type, s *Schema) {
	for f := range t.Fields() {
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		ft := f.Type
		if f.Anonymous && name == "" {
			// encoding/json lifts an untagged embedded struct's fields.
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				g.fields(owner, ft, s)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		where := owner.Name() + "." + f.Name
		if !snake.MatchString(name) {
			g.errs = append(g.errs, fmt.Errorf("field %s (%s): key %q is not snake_case", where, owner.PkgPath(), name))
		}
		if _, dup := s.Properties[name]; dup {
			g.errs = append(g.errs, fmt.Errorf("field %s: key %q written twice", where, name))
		}
		if strings.Contains(","+opts+",", ",string,") {
			g.errs = append(g.errs, fmt.Errorf("field %s: the ,string option is not supported", where))
		}
		fs := g.Schema(ft)
		if vals, ok := g.FieldEnums[where]; ok {
			g.used[where] = true
			fs = &Schema{Type: Types{"string"}, Enum: vals}
		}
		optional := strings.Contains(","+opts+",", ",omitempty,") || strings.Contains(","+opts+",", ",omitzero,")
		if !optional {
			s.Required = append(s.Required, name)
			switch ft.Kind() {
			case reflect.Pointer, reflect.Slice, reflect.Map:
				fs = nullable(fs)
			}
		}
		s.Properties[name] = fs
	}
}

// nullable also admits null.
func nullable(s *Schema) *Schema {
	if s.Ref != "" || len(s.Type) == 0 {
		return &Schema{AnyOf: []*Schema{s, {Type: Types{"null"}}}}
	}
	c := *s
	c.Type = append(append(Types{}, s.Type...), "null")
	return &c
}

// Defs is every named struct reached so far, by Go name.
func (g *Generator) Defs() map[string]*Schema { return g.defs }

// Err reports every problem found so far, and FieldEnums keys that named
// no field (a renamed field would otherwise lose its enum silently).
func (g *Generator) Err() error {
	errs := g.errs
	for _, k := range slices.Sorted(maps.Keys(g.FieldEnums)) {
		if !g.used[k] {
			errs = append(errs, fmt.Errorf("field enum %s: no such field", k))
		}
	}
	return errors.Join(errs...)
}
