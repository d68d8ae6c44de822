package scenarios

import (
	"embed"
	"fmt"
	"strings"

	"github.com/stormsim/stormsim/internal/yamlconf"
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
	data, err := yamlconf.ReadFile(path, MaxFileSize)
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
			sc, err = nil, fieldError(name, 0, "", fmt.Sprintf("internal error: %v", r))
		}
	}()
	root, err := yamlconf.Document(name, data, MaxFileSize, ErrInvalid)
	if err != nil {
		return nil, err
	}
	sc = Default()
	d := yamlconf.NewDecoder(name, ErrInvalid, scenarioUnits{})
	d.Decode(root, sc, "scenario")
	if err := d.Errs.Err(); err != nil {
		return nil, err
	}
	v := &validator{file: name, lines: d.Lines, raw: d.Raw}
	v.scenario(sc)
	if err := v.errs.Err(); err != nil {
		return nil, err
	}
	return sc, nil
}
