// Package profiles holds the built-in latency and limit profiles of the
// capacity-planning model (model.Profile): one YAML file per deployment,
// dated, each figure with its source.
package profiles

import (
	"embed"
	"io/fs"
	"sort"
	"strings"
)

//go:embed *.yaml
var files embed.FS

// Builtin returns the built-in profile named name (without .yaml).
func Builtin(name string) ([]byte, bool) {
	b, err := files.ReadFile(name + ".yaml")
	return b, err == nil
}

// Names lists the built-in profiles.
func Names() []string {
	ents, _ := fs.ReadDir(files, ".")
	var out []string
	for _, e := range ents {
		out = append(out, strings.TrimSuffix(e.Name(), ".yaml"))
	}
	sort.Strings(out)
	return out
}
