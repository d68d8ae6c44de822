package yamlconf

import (
	"testing"

	"gopkg.in/yaml.v3"
)

// lineOfFile has an anchor, an alias to it and a merge of it.
const lineOfFile = `name: expand
seed: 1
phases:
  - &c {kind: constant, rate: 10, duration: 1s}
  - {kind: poisson, rate: 10, duration: 1s}
  - {kind: burst, count: 5, at: 0s, duration: 1s}
  - *c
  - {<<: *c, duration: 2s}
population: {users: 10, devices_per_user: 2, files_per_user: 4, hot_files: 1, hot_share: 0.2}
coordinator: {concurrency: 8}
`

func TestLineOf_MergesAndAliases(t *testing.T) {
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(lineOfFile), &doc); err != nil {
		t.Fatal(err)
	}
	for field, want := range map[string]int{
		"population.hot_share": 9, "phases[1].rate": 5, "phases[3].rate": 4, "phases[4].rate": 4, "phases[4].duration": 8,
		"phases[4]": 8, "coordinator.lock_ttl": 0, "phases[9].rate": 0, "bogus[": 0,
	} {
		if got := LineOf(doc.Content[0], field); got != want {
			t.Errorf("LineOf(%s) = %d, want %d", field, got, want)
		}
	}
}
