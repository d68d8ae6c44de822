package regions

import (
	"context"
	"fmt"
	"time"

	"github.com/stormsim/stormsim/region"
	"github.com/stormsim/stormsim/scenarios"
	"github.com/stormsim/stormsim/sim/checker"
)

// Self-test scenarios of the replicator (short, built in).
const (
	ScenarioDuplicates = "selftest-regions"
	ScenarioOutage     = "selftest-regions-outage"
)

var selfTestScenarios = map[string]string{
	// Three regions; the replication queue delays every event 500ms (home
	// has usually committed the next version of a hot file by the time
	// one is copied) and duplicates some twice: 30% at once (within
	// 40ms, the copies in flight together) and 30% late (up to 800ms,
	// after newer versions). A replicator that applies whatever arrives
	// re-applies versions and goes back to older ones; one that copies
	// home's moving final key puts newer bytes under an older version;
	// one that announces before copying, or announces duplicates, tells
	// devices of versions their region does not hold or already showed.
	ScenarioDuplicates: `
name: selftest-regions
description: Three regions; the replication queue delays every event and duplicates some, at once or late.
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
    - {kind: replication-delay, start: 0s, end: 30s, probability: 1, latency: 500ms}
    - {kind: replication-duplicate, start: 0s, end: 30s, probability: 0.3, latency: 40ms}
    - {kind: replication-duplicate, start: 0s, end: 30s, probability: 0.3, latency: 800ms}
gates: ["invariants.violations == 0"]
`,
	// Two regions; us's storage is down from 300ms to 6s, well past the
	// last commit even on a loaded machine (and within the 9 attempts'
	// ~9s of backoff), and eu is cut off and loses its Redis for a moment:
	// every copy to us during the outage fails at first and must be
	// retried.
	ScenarioOutage: `
name: selftest-regions-outage
description: Two regions; one region's storage down past the last commit, a partition and a Redis outage.
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
  replication: {attempts: 9}
  faults:
    - {kind: region-storage-down, region: us, start: 300ms, end: 6s}
    - {kind: region-partition, region: eu, start: 200ms, end: 500ms}
    - {kind: region-redis-down, region: eu, start: 1s, end: 1300ms}
gates: ["invariants.violations == 0", "regions.refused > 0"]
`,
}

// SelfTestScenario parses the built-in self-test scenario called name.
func SelfTestScenario(name string) (*scenarios.Scenario, error) {
	src, ok := selfTestScenarios[name]
	if !ok {
		return nil, fmt.Errorf("no regions self-test scenario %q", name)
	}
	return scenarios.Parse(name+".yaml", []byte(src))
}

// SelfTestCase is the real replicator or a deliberately broken one (a
// guard skipped through region.Hooks) on a self-test scenario.
type SelfTestCase struct {
	Name     string // "real" or the mutant's name
	Scenario string
	Breaks   string
	CaughtBy []string // checks that must catch the mutant
	guard    string   // the guard the mutant skips ("" for real)
	// dense: the catch needs several commits of a hot file within the
	// queue's 500ms delay, which a -race build on a shared machine does not
	// make (its uploads are too slow); simrun selftest judges it.
	dense bool
}

// SelfTestCases lists the real system on each scenario, then each mutant.
func SelfTestCases() []SelfTestCase {
	return []SelfTestCase{
		{Name: "real", Scenario: ScenarioDuplicates},
		{Name: "real", Scenario: ScenarioOutage},
		{Name: "replicator-out-of-order", Scenario: ScenarioDuplicates, guard: region.GuardNewerOnly,
			Breaks:   "replication: applies every version that arrives, without the newer-only check and conditional write; a duplicate or late event re-applies or goes back",
			CaughtBy: []string{checker.NameReplicationIdempotent}},
		{Name: "replicator-drops-retry", Scenario: ScenarioOutage, guard: region.GuardRetry,
			Breaks:   "replication: one attempt per event; a copy that fails while a region is unreachable is dropped",
			CaughtBy: []string{checker.NameConvergence}},
		{Name: "replicator-unconditional-put", Scenario: ScenarioDuplicates, guard: region.GuardConditionalWrite,
			Breaks:   "replication: keeps the newer-only check but writes without If-Match / If-None-Match; two copies in flight together both write",
			CaughtBy: []string{checker.NameReplicationIdempotent}},
		{Name: "replicator-copies-final", Scenario: ScenarioDuplicates, guard: region.GuardVersionSource,
			Breaks:   "replication: copies home's final key instead of the immutable version key; newer bytes land under an older version's number and SHA-256",
			CaughtBy: []string{checker.NameNoPhantom}, dense: true},
		{Name: "replicator-notifies-early", Scenario: ScenarioDuplicates, guard: region.GuardNotifyAfterCopy,
			Breaks:   "replication: notifies a region's devices when the event arrives, before the copy; they read the version the region held before",
			CaughtBy: []string{checker.NameNoRegression}},
		{Name: "replicator-never-notifies", Scenario: ScenarioDuplicates, guard: region.GuardNotify,
			Breaks:   "replication: copies every version but never notifies the region's devices; they learn of it on their next read only",
			CaughtBy: []string{checker.NameNotified}},
		{Name: "replicator-notifies-duplicates", Scenario: ScenarioDuplicates, guard: region.GuardNotifyApplied,
			Breaks:   "replication: notifies on every event, also a duplicate or late one the region already holds",
			CaughtBy: []string{checker.NameReplicationIdempotent}},
	}
}

// Run runs the case into outDir with the scenario's seed.
func (c SelfTestCase) Run(ctx context.Context, outDir string) (*Result, *scenarios.Scenario, error) {
	sc, err := SelfTestScenario(c.Scenario)
	if err != nil {
		return nil, nil, err
	}
	var hooks *region.Hooks
	if c.guard != "" {
		guard := c.guard
		hooks = &region.Hooks{Disabled: func(g string) bool { return g == guard }}
	}
	res, err := Run(ctx, Options{Scenario: sc, Seed: sc.Seed, OutDir: outDir, Hooks: hooks, CheckTimeout: 30 * time.Second})
	return res, sc, err
}
