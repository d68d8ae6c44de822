package scenarios

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// MaxFileSize is the largest scenario file accepted (1 MiB).
const MaxFileSize = 1 << 20

//go:embed *.yaml
var builtinFS embed.FS

// Builtin returns the embedded built-in scenario file called name ("burst"
// or "burst.yaml").
func Builtin(name string) ([]byte, bool) {
	if !strings.HasSuffix(name, ".yaml") {
		name += ".yaml"
	}
	if strings.ContainsAny(name, `/\`) {
		return nil, false
	}
	data, err := builtinFS.ReadFile(name)
	return data, err == nil
}

// BuiltinNames lists the built-in scenarios, without ".yaml", sorted.
func BuiltinNames() []string {
	entries, _ := builtinFS.ReadDir(".")
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, strings.TrimSuffix(e.Name(), ".yaml"))
	}
	return names
}

// Load reads, decodes and validates the scenario file at path. Errors
// about the content wrap ErrInvalid; an unreadable file returns the
// os error.
func Load(path string) (*Scenario, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load scenario: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("load scenario: %w", err)
	}
	return Parse(path, data)
}

// Parse decodes and validates a scenario in three steps: defaults, strict
// decoding (unknown fields, duplicate keys and wrong types are errors),
// validation. name is used in error messages. It never panics.
func Parse(name string, data []byte) (sc *Scenario, err error) {
	defer func() {
		// Belt and braces: a panic here is a bug, but must not take down
		// the caller. FuzzLoad fails on it.
		if r := recover(); r != nil {
			sc, err = nil, &FieldError{File: name, Msg: fmt.Sprintf("internal error: %v", r)}
		}
	}()
	if len(data) > MaxFileSize {
		return nil, &FieldError{File: name, Msg: fmt.Sprintf("file too large (more than %d bytes)", MaxFileSize)}
	}
	root, err := parseYAML(name, data)
	if err != nil {
		return nil, err
	}
	sc = Default()
	d := newDecoder(name)
	if root != nil {
		if root.Kind != yaml.MappingNode {
			d.fail(root, "", "scenario must be a mapping, got %s", describe(root))
		} else {
			d.decode(root, reflect.ValueOf(sc).Elem(), "", unitNone, 0)
		}
	}
	if err := d.errs.err(); err != nil {
		return nil, err
	}
	v := &validator{file: name, lines: d.lines, raw: d.raw}
	v.scenario(sc)
	if err := v.errs.err(); err != nil {
		return nil, err
	}
	return sc, nil
}

var yamlLineErr = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parseYAML returns the root node of the single document in data (nil for
// an empty file).
func parseYAML(name string, data []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, syntaxError(name, err)
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil:
		return nil, &FieldError{File: name, Line: extra.Line, Msg: "only one YAML document allowed"}
	case !errors.Is(err, io.EOF):
		return nil, syntaxError(name, err)
	}
	if doc.Kind == yaml.DocumentNode {
		if len(doc.Content) == 0 {
			return nil, nil
		}
		return doc.Content[0], nil
	}
	return &doc, nil
}

func syntaxError(name string, err error) error {
	msg := err.Error()
	if m := yamlLineErr.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &FieldError{File: name, Line: line, Msg: "syntax error: " + m[2]}
	}
	return &FieldError{File: name, Msg: "syntax error: " + strings.TrimPrefix(msg, "yaml: ")}
}
