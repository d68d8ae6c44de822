// Package jsonschema generates JSON Schema (draft 2020-12) from Go types,
// by reflection over their fields and json tags, and validates JSON
// documents against the subset of the vocabulary it generates.
//
// It exists so that the output contract (docs/schema/*.schema.json) is
// derived from the types that write results.json and history.jsonl and
// cannot drift from them. A library (invopop/jsonschema for generation,
// santhosh-tekuri/jsonschema for validation) would bring two dependencies
// and their own transitive ones for about 300 lines of code, and would
// still need the parts written here: enums taken from the Go constants,
// nullability that follows encoding/json (a nil slice is written as null)
// and the check that every key is snake_case.
package jsonschema

import "encoding/json"

// Draft is the meta-schema every generated root names.
const Draft = "https://json-schema.org/draft/2020-12/schema"

// Schema is one JSON Schema node: only the keywords the generator emits
// and the validator understands.
type Schema struct {
	Schema      string `json:"$schema,omitempty"`
	Ref         string `json:"$ref,omitempty"`
	Title       string `json:"title,omitempty"`
	Description string `json:"description,omitempty"`
	// Type is one JSON type name or several (["array","null"]).
	Type    Types    `json:"type,omitempty"`
	Format  string   `json:"format,omitempty"`
	Enum    []string `json:"enum,omitempty"`
	Const   *string  `json:"const,omitempty"`
	Minimum *float64 `json:"minimum,omitempty"`

	Properties           map[string]*Schema `json:"properties,omitempty"`
	Required             []string           `json:"required,omitempty"`
	AdditionalProperties *Schema            `json:"additionalProperties,omitempty"`

	Items    *Schema `json:"items,omitempty"`
	MinItems *int    `json:"minItems,omitempty"`
	MaxItems *int    `json:"maxItems,omitempty"`

	AnyOf []*Schema          `json:"anyOf,omitempty"`
	OneOf []*Schema          `json:"oneOf,omitempty"`
	Defs  map[string]*Schema `json:"$defs,omitempty"`
}

// Types is the "type" keyword: written as a string when it holds one name.
type Types []string

// MarshalJSON writes one type as a string, several as an array.
func (t Types) MarshalJSON() ([]byte, error) {
	if len(t) == 1 {
		return json.Marshal(t[0])
	}
	return json.Marshal([]string(t))
}

// UnmarshalJSON reads either form.
func (t *Types) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*t = Types{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*t = many
	return nil
}
