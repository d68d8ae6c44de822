package scenarios

import (
	"slices"
	"sort"
	"strings"
	"testing"
)

// gateTable returns the metric names of the table under "## Gates" in a
// README: the first column of each row, between backquotes.
func gateTable(readme string) []string {
	_, rest, ok := strings.Cut(readme, "\n## Gates\n")
	if !ok {
		return nil
	}
	if i := strings.Index(rest, "\n## "); i >= 0 {
		rest = rest[:i]
	}
	var out []string
	for _, line := range strings.Split(rest, "\n") {
		cell, _, ok := strings.Cut(strings.TrimPrefix(line, "| `"), "` |")
		if ok && strings.HasPrefix(line, "| `") {
			out = append(out, cell)
		}
	}
	return out
}

// tableDiff names the metrics only in the table and only in the map.
func tableDiff(table []string, metrics map[string]string) (extra, missing []string) {
	for _, m := range table {
		if _, ok := metrics[m]; !ok {
			extra = append(extra, m)
		}
	}
	for m := range metrics {
		if !slices.Contains(table, m) {
			missing = append(missing, m)
		}
	}
	sort.Strings(missing)
	return extra, missing
}

// TestGateMetrics_READMETable_Equal: the README's gate table lists exactly
// GateMetrics, once each: no metric undocumented, none documented that a
// gate would reject.
func TestGateMetrics_READMETable_Equal(t *testing.T) {
	data, err := readFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	table := gateTable(data)
	if len(table) == 0 {
		t.Fatal(`README.md has no metric table under "## Gates"`)
	}
	extra, missing := tableDiff(table, GateMetrics)
	for _, m := range extra {
		t.Errorf("README.md gate table lists %s, which is not in GateMetrics", m)
	}
	for _, m := range missing {
		t.Errorf("README.md gate table lacks %s", m)
	}
	seen := map[string]bool{}
	for _, m := range table {
		if seen[m] {
			t.Errorf("README.md gate table lists %s twice", m)
		}
		seen[m] = true
	}
}

// TestGateTable_Diff_Cases: the comparison above can fail, both ways.
func TestGateTable_Diff_Cases(t *testing.T) {
	metrics := map[string]string{"a.x": "", "b.y": ""}
	tests := []struct {
		name           string
		readme         string
		extra, missing []string
	}{
		{"equal", "# R\n\n## Gates\n\n| metric | meaning |\n|---|---|\n| `a.x` | x |\n| `b.y` | y |\n\n## Next\n| `c.z` | z |\n", nil, nil},
		{"extra", "## Gates\n| `a.x` | x |\n| `b.y` | y |\n| `c.z` | z |\n", []string{"c.z"}, nil},
		{"missing", "## Gates\n| `a.x` | x |\n", nil, []string{"b.y"}},
		{"no table", "# R\n", nil, []string{"a.x", "b.y"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			extra, missing := tableDiff(gateTable("\n"+tt.readme), metrics)
			if !slices.Equal(extra, tt.extra) || !slices.Equal(missing, tt.missing) {
				t.Errorf("extra %v missing %v, want %v %v", extra, missing, tt.extra, tt.missing)
			}
		})
	}
}
