package regions

import (
	"context"
	"testing"
	"time"

	"github.com/stormsim/stormsim/region"
	"github.com/stormsim/stormsim/scenarios"
	"github.com/stormsim/stormsim/sim/checker"
)

const small = `
name: regions-small
seed: 3
drain: 20s
phases: [{kind: constant, rate: 60, duration: 1s}]
population: {users: 6, devices_per_user: 3, files_per_user: 2, hot_files: 1, hot_share: 0.7}
sizes: {kind: fixed, value: 2KiB}
regions:
  list:
    - {name: eu, users: 0.5, devices: 1}
    - {name: us, users: 0.3, devices: 1}
    - {name: ap, users: 0.2, devices: 1}
  latency:
    - {from: eu, to: us, latency: 15ms}
    - {from: eu, to: ap, latency: 30ms}
    - {from: us, to: ap, latency: 25ms}
  faults:
    - {kind: replication-duplicate, start: 0s, end: 2s, probability: 0.5, latency: 300ms}
    - {kind: replication-delay, start: 0s, end: 2s, probability: 0.3, latency: 200ms}
`

func runSmall(t *testing.T, yaml string, hooks *region.Hooks) *Result {
	t.Helper()
	sc, err := scenarios.Parse("small.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), Options{Scenario: sc, Seed: sc.Seed, OutDir: t.TempDir(), Hooks: hooks,
		CheckTimeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestRun_Small_Passes(t *testing.T) {
	res := runSmall(t, small, nil)
	for _, c := range res.Check.Checks {
		if !c.OK {
			t.Errorf("%s: %s", c.Name, c.Detail)
		}
	}
	for _, name := range []string{checker.NameConvergence, checker.NameNoRegression, checker.NameNoPhantom, checker.NameReplicationIdempotent} {
		if _, ok := res.Check.Find(name); !ok {
			t.Errorf("check %s did not run", name)
		}
	}
	if len(res.Regions.Lag) == 0 || res.Regions.ReplicationBytes == 0 {
		t.Errorf("nothing replicated: %+v", res.Regions)
	}
	if res.ReplicationDuplicated == 0 {
		t.Error("the duplicate fault duplicated nothing")
	}
	t.Logf("launched %d, lag %+v, staleness %+v", res.Launched, res.Regions.Lag[0], res.Regions.Staleness)
}

const outage = `
name: regions-outage
seed: 5
drain: 30s
phases: [{kind: constant, rate: 50, duration: 1500ms}]
population: {users: 6, devices_per_user: 2, files_per_user: 2, hot_files: 1, hot_share: 0.6}
sizes: {kind: fixed, value: 1KiB}
coordinator: {lock_ttl: 2s}
regions:
  list:
    - {name: eu, users: 0.5, devices: 1}
    - {name: us, users: 0.5, devices: 1}
  latency:
    - {from: eu, to: us, latency: 10ms}
  replication: {attempts: 8}
  faults:
    - {kind: region-storage-down, region: us, start: 300ms, end: 3s}
    - {kind: region-partition, region: eu, start: 200ms, end: 500ms}
    - {kind: region-redis-down, region: eu, start: 1s, end: 1300ms}
`

func failed(res *Result) []string {
	var out []string
	for _, c := range res.Check.Checks {
		if !c.OK {
			out = append(out, c.Name)
		}
	}
	return out
}

func TestRun_RegionalFaults_Pass(t *testing.T) {
	res := runSmall(t, outage, nil)
	for _, c := range res.Check.Checks {
		if !c.OK {
			t.Errorf("%s: %s", c.Name, c.Detail)
		}
	}
	if res.Refused == 0 {
		t.Error("no upload was refused while a home region was unreachable")
	}
	if len(res.History.Faults) != 3 {
		t.Errorf("%d fault records, want 3", len(res.History.Faults))
	}
}

// The self-test's replicator mutants are caught by the checks.
func TestRun_Mutants_Caught(t *testing.T) {
	tests := []struct {
		name, yaml, guard string
		want              string
	}{
		{"out-of-order", small, region.GuardNewerOnly, checker.NameReplicationIdempotent},
		{"drop-retry", outage, region.GuardRetry, checker.NameConvergence},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := runSmall(t, tt.yaml, &region.Hooks{Disabled: func(g string) bool { return g == tt.guard }})
			got := failed(res)
			if !contains(got, tt.want) {
				t.Errorf("failed checks %v, want %s among them", got, tt.want)
			}
		})
	}
}

func contains(xs []string, x string) bool {
	for _, s := range xs {
		if s == x {
			return true
		}
	}
	return false
}
