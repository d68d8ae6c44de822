package contract

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stormsim/stormsim/internal/jsonschema"
	"github.com/stormsim/stormsim/report"
	"github.com/stormsim/stormsim/scenarios"
	"github.com/stormsim/stormsim/sim"
	"github.com/stormsim/stormsim/sim/history"
	"github.com/stormsim/stormsim/sim/regions"
	"github.com/stormsim/stormsim/sim/workload"
)

// A short upload run that makes most record kinds happen: conflicts on a
// hot file, duplicated events, hostile uploads (rejects) and a fault window.
const uploadRun = `
name: contract
seed: 11
drain: 20s
phases:
  - {kind: burst, count: 60, at: 0s, duration: 300ms}
  - {kind: constant, rate: 40, duration: 1s}
population: {users: 8, devices_per_user: 3, files_per_user: 3, hot_files: 1, hot_share: 0.6, stale_share: 0.05, max_staleness: 2}
sizes: {kind: lognormal, median: 2KiB, sigma: 1, cap: 64KiB}
coordinator: {concurrency: 8}
delivery: {duplicate: 0.1, reorder: 0.1}
faults:
  - {kind: hostile-upload, start: 0s, end: 1s, probability: 0.2}
  - {kind: event-delay, start: 0s, end: 1s, probability: 0.2, latency: 200ms}
gates: ["invariants.violations == 0", "uploads.unknown == 0"]
`

// A scheduler-only run on the virtual clock: sched records and the
// scheduler section of results.json.
const schedulerRun = `
name: contract-scheduler
seed: 5
scheduler:
  strategy: self-rescheduling
  compare: [fixed-interval]
  days: 1
  clock: virtual
  new_users_per_hour: 20
  events_per_user: 1
  due_offsets: [{kind: uniform, min: 5m, max: 2h}]
  store: memory
gates: ["scheduler.early == 0"]
`

// A scheduler run whose events are e-mails: mail records and the email
// section of results.json.
const emailRun = `
name: contract-email
seed: 6
scheduler:
  days: 0.25
  new_users_per_hour: 20
  events_per_user: 1
  due_offsets: [{kind: uniform, min: 5m, max: 2h}]
  email: {crash_after_send: 10%, smtp_refuse: 10%}
gates: ["email.duplicates == 0"]
`

// A short multi-region run: replication, reads, notifications, and a
// partition that refuses uploads to a cut-off home.
const regionsRun = `
name: contract-regions
seed: 7
drain: 20s
phases: [{kind: constant, rate: 40, duration: 1s}]
population: {users: 6, devices_per_user: 2, files_per_user: 2, hot_files: 1, hot_share: 0.6}
sizes: {kind: fixed, value: 1KiB}
regions:
  list:
    - {name: eu, users: 0.5, devices: 1}
    - {name: us, users: 0.5, devices: 1}
  latency: [{from: eu, to: us, latency: 10ms}]
  faults: [{kind: region-partition, region: us, start: 100ms, end: 1s}]
gates: ["invariants.violations == 0"]
`

// The files a real run writes are valid against the published schemas,
// strictly: every key they hold is one the schema names.
func TestSchema_ShortRun_Validates(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a few seconds of uploads")
	}
	rs, err := ResultsSchema()
	if err != nil {
		t.Fatal(err)
	}
	hs, err := HistorySchema()
	if err != nil {
		t.Fatal(err)
	}
	results := &jsonschema.Validator{Root: rs, Strict: true}
	lines := &jsonschema.Validator{Root: hs, Strict: true}
	kinds := map[string]int{}

	tests := []struct {
		name string
		yaml string
		run  func(t *testing.T, sc *scenarios.Scenario, dir string) *report.Results
	}{
		{"uploads", uploadRun, func(t *testing.T, sc *scenarios.Scenario, dir string) *report.Results {
			res, err := sim.Run(context.Background(), sim.Options{Scenario: sc, Seed: sc.Seed, OutDir: dir})
			if err != nil {
				t.Fatal(err)
			}
			return report.Build(res, sc, "simrun --seed 11 contract.yaml")
		}},
		{"stopped", uploadRun, func(t *testing.T, sc *scenarios.Scenario, dir string) *report.Results {
			// Stopped at the first progress tick: a stop record.
			stop := func(sim.Progress) (string, bool) { return "stopped by the test", true }
			res, err := sim.Run(context.Background(), sim.Options{Scenario: sc, Seed: sc.Seed, OutDir: dir, Abort: stop})
			if err != nil {
				t.Fatal(err)
			}
			return report.Build(res, sc, "simrun --seed 11 contract.yaml")
		}},
		{"regions", regionsRun, func(t *testing.T, sc *scenarios.Scenario, dir string) *report.Results {
			res, err := regions.Run(context.Background(), regions.Options{Scenario: sc, Seed: sc.Seed, OutDir: dir})
			if err != nil {
				t.Fatal(err)
			}
			return report.BuildRegions(res, sc, "simrun --seed 7 contract-regions.yaml")
		}},
		{"scheduler", schedulerRun, func(t *testing.T, sc *scenarios.Scenario, dir string) *report.Results {
			res, err := sim.RunScheduler(context.Background(), sc, sc.Seed, dir)
			if err != nil {
				t.Fatal(err)
			}
			return report.BuildScheduler(res, sc, sc.Seed, workload.Hash(sc, sc.Seed), "")
		}},
		{"email", emailRun, func(t *testing.T, sc *scenarios.Scenario, dir string) *report.Results {
			res, err := sim.RunScheduler(context.Background(), sc, sc.Seed, dir)
			if err != nil {
				t.Fatal(err)
			}
			return report.BuildScheduler(res, sc, sc.Seed, workload.Hash(sc, sc.Seed), "")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc, err := scenarios.Parse(tt.name+".yaml", []byte(tt.yaml))
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			r := tt.run(t, sc, dir)
			var buf bytes.Buffer
			if err := report.WriteJSON(&buf, r); err != nil {
				t.Fatal(err)
			}
			for _, e := range results.ValidateJSON(buf.Bytes()) {
				t.Errorf("results.json %v", e)
			}
			validateHistory(t, lines, filepath.Join(dir, "history.jsonl"), kinds)
		})
	}
	// The runs exercised the schema: every kind a clean run can write
	// (leftover and pending are written only when the drain left something
	// behind).
	for _, r := range Records {
		if kinds[r.Kind] == 0 && r.Kind != history.KindLeftover && r.Kind != history.KindPending {
			t.Errorf("no %q record in the runs' histories (kinds %v)", r.Kind, kinds)
		}
	}
}

func validateHistory(t *testing.T, v *jsonschema.Validator, path string, kinds map[string]int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	bad := 0
	for n := 1; sc.Scan(); n++ {
		kind := "?"
		err := history.Scan(bytes.NewReader(sc.Bytes()), func(k string, _ []byte) error { kind = k; return nil })
		if err != nil {
			t.Fatalf("line %d: %v", n, err)
		}
		kinds[kind]++
		for _, e := range v.ValidateJSON(sc.Bytes()) {
			if bad++; bad <= 20 {
				t.Errorf("history.jsonl line %d (%s): %v", n, kind, e)
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
}
