package workload

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stormsim/stormsim/scenarios"
)

var update = flag.Bool("update", false, "rewrite testdata/hashes.golden")

func builtin(t testing.TB, name string) *scenarios.Scenario {
	t.Helper()
	data, ok := scenarios.Builtin(name)
	if !ok {
		t.Fatalf("no built-in %q", name)
	}
	sc, err := scenarios.Parse(name+".yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

func TestHash_Deterministic(t *testing.T) {
	tests := []struct {
		name string
		sc   *scenarios.Scenario
	}{
		{"burst", builtin(t, "burst")},
		{"ci", builtin(t, "ci")},
		{"closed", scenario(t, "model: closed\nuploads: 100\nclosed: {devices: 7}")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := Hash(tt.sc, 1), Hash(tt.sc, 1)
			if a != b {
				t.Fatalf("same seed: %s != %s", a, b)
			}
			if c := Hash(tt.sc, 2); c == a {
				t.Fatalf("seeds 1 and 2 give the same hash %s", a)
			}
			if len(a) != 64 {
				t.Fatalf("hash %q is not hex SHA-256", a)
			}
		})
	}
}

func TestHash_SensitiveToScenario(t *testing.T) {
	a := scenario(t, "phases: [{kind: constant, rate: 10, duration: 1s}]")
	b := scenario(t, "phases: [{kind: constant, rate: 10, duration: 1s}]\npopulation: {hot_share: 0.5}")
	if Hash(a, 1) == Hash(b, 1) {
		t.Fatal("different hot share, same hash")
	}
}

// TestHash_Golden pins the planned workload of every built-in scenario:
// a change here means old seeds no longer reproduce old runs. Run with
// -update after an intended change.
//
// plan-internet plans millions of uploads: a minute and a half under the
// race detector, which has nothing to find in one goroutine hashing. Under
// -race its line is not checked (the subtest says so); .ci/run checks it
// in a run without -race.
func TestHash_Golden(t *testing.T) {
	path := filepath.Join("testdata", "hashes.golden")
	if *update {
		var b strings.Builder
		for _, name := range scenarios.BuiltinNames() {
			sc := builtin(t, name)
			fmt.Fprintf(&b, "%s %d %s\n", name, sc.Seed, Hash(sc, sc.Seed))
		}
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	want := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		name, _, _ := strings.Cut(line, " ")
		want[name] = line
	}
	names := scenarios.BuiltinNames()
	if len(want) != len(names) {
		t.Errorf("%s has %d scenarios, there are %d built in (run go test -update)", path, len(want), len(names))
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			if name == "plan-internet" && raceEnabled {
				t.Skip("millions of arrivals: checked without -race (.ci/run)")
			}
			sc := builtin(t, name)
			if got := fmt.Sprintf("%s %d %s", name, sc.Seed, Hash(sc, sc.Seed)); got != want[name] {
				t.Errorf("workload hash changed:\n got %s\nwant %s", got, want[name])
			}
		})
	}
}

func BenchmarkPlan_Next(b *testing.B) {
	sc := builtin(b, "burst")
	sc.Phases = []scenarios.Phase{{Kind: "poisson", Rate: 1000, Name: "p"}}
	p := NewPlan(sc, 1)
	b.ReportAllocs()
	for b.Loop() {
		p.Next()
	}
}

// Two scenarios differing only in their regions section plan different
// workloads (where users are homed, devices connected, what the WAN and
// replication do), so their hashes differ; the same section hashes the
// same.
func TestHash_Regions_Sensitive(t *testing.T) {
	const base = `
phases: [{kind: constant, rate: 10, duration: 1s}]
population: {users: 4, devices_per_user: 2}
`
	const eu, us = "    - {name: eu, users: 0.5, devices: 1}\n", "    - {name: us, users: 0.5, devices: 1}\n"
	const link = "  latency: [{from: eu, to: us, latency: 10ms}]\n"
	regions := base + "regions:\n  list:\n" + eu + us + link
	tests := []struct {
		name, other string
	}{
		{"no regions", base},
		{"shares", base + "regions:\n  list:\n    - {name: eu, users: 0.7, devices: 1}\n    - {name: us, users: 0.3, devices: 1}\n" + link},
		{"devices", base + "regions:\n  list:\n    - {name: eu, users: 0.5, devices: 2}\n    - {name: us, users: 0.5, devices: 0}\n" + link},
		{"latency", base + "regions:\n  list:\n" + eu + us + "  latency: [{from: eu, to: us, latency: 20ms}]\n"},
		{"pin", regions + "  pin: us\n"},
		{"replication", regions + "  replication: {attempts: 3}\n"},
		{"faults", regions + "  faults: [{kind: region-partition, region: eu, start: 0s, end: 1s}]\n"},
	}
	a := scenario(t, regions)
	if Hash(a, 1) != Hash(scenario(t, regions), 1) {
		t.Fatal("the same regions section hashes differently")
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if Hash(a, 1) == Hash(scenario(t, tt.other), 1) {
				t.Errorf("regions and %s: same hash %s", tt.name, Hash(a, 1))
			}
		})
	}
}
