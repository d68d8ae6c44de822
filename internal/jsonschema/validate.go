package jsonschema

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Validator checks JSON documents against a root schema, for the keywords
// Schema has: $ref into the root's $defs, type, format date-time, enum,
// const, minimum, properties, required, additionalProperties, items,
// minItems, maxItems, anyOf and oneOf.
type Validator struct {
	Root *Schema
	// Strict also reports keys the schema does not name. The published
	// schemas admit them (newer files stay valid for older readers); the
	// repository's own tests use Strict so an untagged field is caught.
	Strict bool
}

// ValidateJSON decodes one JSON document and validates it.
func (v *Validator) ValidateJSON(doc []byte) []error {
	d := json.NewDecoder(bytes.NewReader(doc))
	d.UseNumber()
	var x any
	if err := d.Decode(&x); err != nil {
		return []error{fmt.Errorf("decode: %w", err)}
	}
	return v.Validate(x)
}

// Validate checks a value decoded by encoding/json (with UseNumber, so
// integers are told from other numbers) and returns every violation, each
// naming its JSON pointer.
func (v *Validator) Validate(x any) []error {
	var errs []error
	v.check(v.Root, x, "", &errs)
	return errs
}

func (v *Validator) check(s *Schema, x any, at string, errs *[]error) {
	fail := func(format string, args ...any) {
		*errs = append(*errs, fmt.Errorf("%s: %s", orRoot(at), fmt.Sprintf(format, args...)))
	}
	if s.Ref != "" {
		def, ok := v.Root.Defs[strings.TrimPrefix(s.Ref, "#/$defs/")]
		if !ok || !strings.HasPrefix(s.Ref, "#/$defs/") {
			fail("unresolvable $ref %q", s.Ref)
			return
		}
		v.check(def, x, at, errs)
	}
	if len(s.Type) > 0 && !slices.ContainsFunc(s.Type, func(t string) bool { return hasType(x, t) }) {
		fail("%s is not of type %v", describe(x), []string(s.Type))
		return
	}
	if str, ok := x.(string); ok && s.Format == "date-time" {
		if _, err := time.Parse(time.RFC3339Nano, str); err != nil {
			fail("%q is not an RFC 3339 date-time", str)
		}
	}
	if s.Enum != nil && !slices.ContainsFunc(s.Enum, func(e string) bool { return x == e }) {
		fail("%s is not one of %q", describe(x), s.Enum)
	}
	if s.Const != nil && x != *s.Const {
		fail("%s is not %q", describe(x), *s.Const)
	}
	if n, ok := x.(json.Number); ok && s.Minimum != nil {
		if f, err := n.Float64(); err == nil && f < *s.Minimum {
			fail("%s is below the minimum %g", n, *s.Minimum)
		}
	}
	if len(s.AnyOf) > 0 && v.matches(s.AnyOf, x, at) == 0 {
		fail("%s matches none of anyOf", describe(x))
	}
	if len(s.OneOf) > 0 {
		if n := v.matches(s.OneOf, x, at); n != 1 {
			fail("%s matches %d of oneOf, want exactly 1", describe(x), n)
		}
	}
	switch x := x.(type) {
	case map[string]any:
		for _, r := range s.Required {
			if _, ok := x[r]; !ok {
				fail("required key %q is missing", r)
			}
		}
		for _, k := range sortedKeys(x) {
			if p, ok := s.Properties[k]; ok {
				v.check(p, x[k], at+"/"+k, errs)
			} else if s.AdditionalProperties != nil {
				v.check(s.AdditionalProperties, x[k], at+"/"+k, errs)
			} else if v.Strict && s.Properties != nil && s.Ref == "" && s.OneOf == nil && s.AnyOf == nil {
				// A key only a subschema names is checked there.
				fail("key %q is not in the schema", k)
			}
		}
	case []any:
		if s.MinItems != nil && len(x) < *s.MinItems {
			fail("%d items, want at least %d", len(x), *s.MinItems)
		}
		if s.MaxItems != nil && len(x) > *s.MaxItems {
			fail("%d items, want at most %d", len(x), *s.MaxItems)
		}
		if s.Items != nil {
			for i, e := range x {
				v.check(s.Items, e, fmt.Sprintf("%s/%d", at, i), errs)
			}
		}
	}
}

// matches counts the subschemas x is valid against.
func (v *Validator) matches(subs []*Schema, x any, at string) int {
	n := 0
	for _, sub := range subs {
		var e []error
		v.check(sub, x, at, &e)
		if len(e) == 0 {
			n++
		}
	}
	return n
}

func hasType(x any, t string) bool {
	switch x := x.(type) {
	case nil:
		return t == "null"
	case bool:
		return t == "boolean"
	case string:
		return t == "string"
	case json.Number:
		if t == "number" {
			return true
		}
		_, err := x.Int64()
		return t == "integer" && (err == nil || !strings.ContainsAny(x.String(), ".eE"))
	case float64:
		return t == "number" || t == "integer" && x == float64(int64(x))
	case []any:
		return t == "array"
	case map[string]any:
		return t == "object"
	}
	return false
}

func describe(x any) string {
	switch x := x.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case string:
		return fmt.Sprintf("%q", x)
	}
	return fmt.Sprint(x)
}

func sortedKeys(m map[string]any) []string { return slices.Sorted(maps.Keys(m)) }

func orRoot(at string) string {
	if at == "" {
		return "/"
	}
	return at
}
