package jsonschema

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

type color string

type inner struct {
	N uint32 `json:"n"`
}

type sample struct {
	Name    string            `json:"name"`
	Color   color             `json:"color"`
	Verdict string            `json:"verdict"`
	Count   int64             `json:"count"`
	Ratio   float64           `json:"ratio,omitempty"`
	At      time.Time         `json:"at"`
	Fired   *time.Time        `json:"fired"`
	Tags    []string          `json:"tags"`
	Pair    [2]float64        `json:"pair,omitempty"`
	By      map[string]int64  `json:"by,omitempty"`
	Inner   inner             `json:"inner"`
	Opt     *inner            `json:"opt,omitempty"`
	Any     any               `json:"any,omitempty"`
	Skip    int               `json:"-"`
	hidden  int               //nolint:unused // unexported: never written
	Extra   map[string]string `json:"extra,omitzero"`
}

func gen(t *testing.T) (*Generator, *Schema) {
	t.Helper()
	g := &Generator{
		Enums:      map[reflect.Type][]string{reflect.TypeFor[color](): {"red", "blue"}},
		FieldEnums: map[string][]string{"sample.Verdict": {"pass", "fail"}},
	}
	ref := g.Schema(reflect.TypeFor[sample]())
	if err := g.Err(); err != nil {
		t.Fatal(err)
	}
	return g, &Schema{Schema: Draft, Ref: ref.Ref, Defs: g.Defs()}
}

func TestGenerator_Schema_FollowsEncodingJSON(t *testing.T) {
	_, root := gen(t)
	s := root.Defs["sample"]
	if s == nil || root.Defs["inner"] == nil {
		t.Fatalf("defs %v: want sample and inner", root.Defs)
	}
	want := []string{"name", "color", "verdict", "count", "at", "fired", "tags", "inner"}
	if strings.Join(s.Required, ",") != strings.Join(want, ",") {
		t.Errorf("required %v, want %v", s.Required, want)
	}
	tests := []struct {
		key, want string
	}{
		{"color", `{"type":"string","enum":["red","blue"]}`},
		{"verdict", `{"type":"string","enum":["pass","fail"]}`},
		{"at", `{"type":"string","format":"date-time"}`},
		{"fired", `{"type":["string","null"],"format":"date-time"}`},
		{"tags", `{"type":["array","null"],"items":{"type":"string"}}`},
		{"pair", `{"type":"array","items":{"type":"number"},"minItems":2,"maxItems":2}`},
		{"by", `{"type":"object","additionalProperties":{"type":"integer"}}`},
		{"inner", `{"$ref":"#/$defs/inner"}`},
		{"opt", `{"$ref":"#/$defs/inner"}`},
		{"any", `{}`},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			got, err := json.Marshal(s.Properties[tt.key])
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("%s: %s, want %s", tt.key, got, tt.want)
			}
		})
	}
	for _, k := range []string{"Skip", "hidden", "-"} {
		if _, ok := s.Properties[k]; ok {
			t.Errorf("property %q should not be written", k)
		}
	}
}

func TestGenerator_Err_Cases(t *testing.T) {
	type untagged struct{ Emitted int64 }
	type camel struct {
		A int `json:"maxRSS"`
	}
	type ch struct {
		C chan int `json:"c"`
	}
	tests := []struct {
		name  string
		t     reflect.Type
		field map[string][]string
		want  string
	}{
		{"untagged field", reflect.TypeFor[untagged](), nil, `key "Emitted" is not snake_case`},
		{"camel case tag", reflect.TypeFor[camel](), nil, `key "maxRSS" is not snake_case`},
		{"channel", reflect.TypeFor[ch](), nil, "cannot be written as JSON"},
		{"stale field enum", reflect.TypeFor[inner](), map[string][]string{"inner.Gone": {"x"}}, "field enum inner.Gone: no such field"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := &Generator{FieldEnums: tt.field}
			g.Schema(tt.t)
			err := g.Err()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestValidator_Validate_Cases(t *testing.T) {
	_, root := gen(t)
	ok := `{"name":"a","color":"red","verdict":"pass","count":3,"at":"2026-01-02T03:04:05.123456789Z",
		"fired":null,"tags":null,"inner":{"n":1},"pair":[1,2.5],"by":{"x":1},"any":[1,"x"]}`
	tests := []struct {
		name   string
		doc    string
		strict bool
		want   string // "" = valid
	}{
		{"valid", ok, true, ""},
		{"unknown key allowed", strings.Replace(ok, `"name"`, `"new_key":1,"name"`, 1), false, ""},
		{"unknown key strict", strings.Replace(ok, `"name"`, `"Emitted":1,"name"`, 1), true, `key "Emitted" is not in the schema`},
		{"missing required", strings.Replace(ok, `"count":3,`, "", 1), false, `required key "count" is missing`},
		{"wrong enum", strings.Replace(ok, `"red"`, `"green"`, 1), false, `/color: "green" is not one of`},
		{"field enum", strings.Replace(ok, `"pass"`, `"meh"`, 1), false, `/verdict: "meh" is not one of`},
		{"float for integer", strings.Replace(ok, `"count":3`, `"count":3.5`, 1), false, "/count: 3.5 is not of type [integer]"},
		{"negative unsigned", strings.Replace(ok, `{"n":1}`, `{"n":-1}`, 1), false, "/inner/n: -1 is below the minimum 0"},
		{"bad time", strings.Replace(ok, `"2026-01-02T03:04:05.123456789Z"`, `"yesterday"`, 1), false, "not an RFC 3339 date-time"},
		{"short tuple", strings.Replace(ok, `[1,2.5]`, `[1]`, 1), false, "/pair: 1 items, want at least 2"},
		{"map value", strings.Replace(ok, `{"x":1}`, `{"x":"1"}`, 1), false, `/by/x: "1" is not of type [integer]`},
		{"null where not nullable", strings.Replace(ok, `{"n":1}`, `null`, 1), false, "/inner: null is not of type [object]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := (&Validator{Root: root, Strict: tt.strict}).ValidateJSON([]byte(tt.doc))
			if tt.want == "" {
				if len(errs) > 0 {
					t.Errorf("want valid, got %v", errs)
				}
				return
			}
			found := false
			for _, e := range errs {
				found = found || strings.Contains(e.Error(), tt.want)
			}
			if !found {
				t.Errorf("errors %v, want one containing %q", errs, tt.want)
			}
		})
	}
}

func TestValidator_Validate_OneOf(t *testing.T) {
	a, b := "a", "b"
	root := &Schema{OneOf: []*Schema{
		{Type: Types{"object"}, Properties: map[string]*Schema{"t": {Const: &a}}, Required: []string{"t"}},
		{Type: Types{"object"}, Properties: map[string]*Schema{"t": {Const: &b}}, Required: []string{"t"}},
	}}
	tests := []struct {
		doc   string
		valid bool
	}{
		{`{"t":"a"}`, true},
		{`{"t":"b"}`, true},
		{`{"t":"c"}`, false},
		{`{}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.doc, func(t *testing.T) {
			errs := (&Validator{Root: root}).ValidateJSON([]byte(tt.doc))
			if (len(errs) == 0) != tt.valid {
				t.Errorf("%s: errors %v, want valid=%v", tt.doc, errs, tt.valid)
			}
		})
	}
}
