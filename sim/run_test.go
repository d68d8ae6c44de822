package sim_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stormsim/stormsim/coordinator"
	"github.com/stormsim/stormsim/scenarios"
	"github.com/stormsim/stormsim/sim"
	"github.com/stormsim/stormsim/sim/checker"
	"github.com/stormsim/stormsim/sim/delivery"
	"github.com/stormsim/stormsim/sim/env"
	"github.com/stormsim/stormsim/sim/history"
	"github.com/stormsim/stormsim/sim/traffic"
	"github.com/stormsim/stormsim/sim/workload"
)

const small = `
name: small
seed: 7
drain: 20s
phases:
  - {kind: burst, count: 120, at: 0s, duration: 500ms}
  - {kind: constant, rate: 100, duration: 1s}
population: {users: 20, devices_per_user: 3, files_per_user: 4, hot_files: 1, hot_share: 0.6, stale_share: 0.05, max_staleness: 2}
sizes: {kind: lognormal, median: 2KiB, sigma: 1, cap: 64KiB}
coordinator: {strategy: STRATEGY, concurrency: 16}
delivery: {duplicate: 0.1, reorder: 0.1}
gates: ["invariants.violations == 0", "uploads.unknown == 0"]
`

func smallScenario(t *testing.T, strategy coordinator.Strategy) *scenarios.Scenario {
	t.Helper()
	sc, err := scenarios.Parse("small.yaml", []byte(strings.Replace(small, "STRATEGY", string(strategy), 1)))
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

func TestRun_SmallScenario_Passes(t *testing.T) {
	for _, strategy := range coordinator.Strategies {
		t.Run(string(strategy), func(t *testing.T) {
			sc := smallScenario(t, strategy)
			res, err := sim.Run(context.Background(), sim.Options{Scenario: sc, Seed: sc.Seed, OutDir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			if !res.Check.OK() {
				for _, c := range res.Check.Checks {
					if !c.OK {
						t.Errorf("%s: %d violations %v %s", c.Name, c.Violations, c.Examples, c.Detail)
					}
				}
			}
			m := res.Measure.Outcomes
			if m["committed"] == 0 || m["conflict"] == 0 {
				t.Errorf("outcomes %v: want both commits and conflicts", m)
			}
			if got := m["committed"] + m["conflict"]; got != res.Planned {
				t.Errorf("%d decided uploads, planned %d", got, res.Planned)
			}
			if res.Delivery.Duplicated == 0 {
				t.Errorf("no duplicate events were delivered")
			}
		})
	}
}

func TestRun_SameSeed_SameWorkloadHash(t *testing.T) {
	sc := smallScenario(t, coordinator.StrategyRedisLock)
	if a, b := workload.Hash(sc, 7), workload.Hash(sc, 7); a != b {
		t.Fatalf("hash differs for the same seed: %s %s", a, b)
	}
	if workload.Hash(sc, 7) == workload.Hash(sc, 8) {
		t.Fatalf("hash equal for different seeds")
	}
}

// Broken coordinators must be caught: each mutant breaks one promise and
// the named invariant must report it.
func TestRun_Mutants_Caught(t *testing.T) {
	tests := []struct {
		name      string
		mutant    func() *sim.Mutant
		invariant string
	}{
		{"loser bytes dropped", func() *sim.Mutant {
			return &sim.Mutant{Name: "drop-copy", WrapHandler: func(h delivery.Handler, env *env.Env, c *coordinator.Coordinator) delivery.Handler {
				return func(ctx context.Context, ev events.S3Event) error {
					key := ev.Records[0].S3.Object.Key
					if err := h(ctx, ev); err != nil {
						return err
					}
					user, id, _ := coordinator.ParseStagingKey(key)
					if r, ok, _ := c.Result(ctx, user, id); ok && r.Copy != "" {
						_, _ = env.S3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &env.Bucket, Key: &r.Copy})
					}
					return nil
				}
			}}
		}, "nothing-dropped"},
		{"devices ignore pushes", func() *sim.Mutant {
			return &sim.Mutant{Name: "ignore-push", IgnorePush: true}
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc := smallScenario(t, coordinator.StrategyRedisLock)
			res, err := sim.Run(context.Background(), sim.Options{Scenario: sc, Seed: sc.Seed, OutDir: t.TempDir(), Mutant: tt.mutant()})
			if err != nil {
				t.Fatal(err)
			}
			if tt.invariant == "" {
				if res.Measure.PushOnly != 0 {
					t.Errorf("devices ignoring pushes still resolved %d uploads by push", res.Measure.PushOnly)
				}
				return
			}
			c, _ := res.Check.Find(tt.invariant)
			if c.OK || c.Violations == 0 {
				t.Errorf("%s not caught by %s: %+v", tt.name, tt.invariant, c)
			}
		})
	}
}

// The same scheduler code runs on the wall clock beside an upload
// workload, its sched records in the same history.
func TestRun_SchedulerBesideUploads(t *testing.T) {
	sc, err := scenarios.Parse("beside.yaml", []byte(`
name: beside
seed: 3
phases: [{kind: constant, rate: 50, duration: 3s}]
population: {users: 10, devices_per_user: 2, files_per_user: 3}
sizes: {kind: fixed, value: 512}
scheduler:
  strategy: self-rescheduling
  new_users_per_hour: 1200
  events_per_user: 1
  due_offsets: [{kind: uniform, min: 30s, max: 2m}]
  store: redis
`))
	if err != nil {
		t.Fatal(err)
	}
	res, err := sim.Run(context.Background(), sim.Options{Scenario: sc, Seed: sc.Seed, OutDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if res.Scheduler == nil || len(res.Scheduler.Strategies) == 0 {
		t.Fatal("no scheduler result beside the uploads")
	}
	m := res.Scheduler.Strategies[0]
	if m.Events == 0 || m.Early != 0 || m.Missed != 0 || m.Duplicates != 0 {
		t.Errorf("scheduler beside uploads: %+v", m)
	}
	if c, ok := res.Check.Find("scheduler"); !ok || !c.OK {
		t.Errorf("scheduler check: %+v (found %v)", c, ok)
	}
}

// Two shards drive disjoint users whose union is the whole plan, and
// their merged history passes the checker.
func TestRun_Shards_DisjointAndComplete(t *testing.T) {
	sc := smallScenario(t, coordinator.StrategyRedisLock)
	whole, _ := workload.NewPlan(sc, sc.Seed).PlannedCount()
	var paths []string
	var planned int64
	users := map[string]int{}
	for i := range 2 {
		dir := t.TempDir()
		res, err := sim.Run(context.Background(), sim.Options{Scenario: sc, Seed: sc.Seed, OutDir: dir, Shard: traffic.Shard{I: i, N: 2}})
		if err != nil {
			t.Fatal(err)
		}
		planned += res.Planned
		paths = append(paths, filepath.Join(dir, "history.jsonl"))
		set, err := history.ReadFiles(paths[i])
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range set.Uploads {
			users[u.User] |= 1 << i
		}
	}
	if planned != whole {
		t.Errorf("shards planned %d uploads, the whole plan has %d", planned, whole)
	}
	for u, mask := range users {
		if mask == 3 {
			t.Errorf("user %s driven by both shards", u)
		}
	}
	set, err := history.ReadFiles(paths...)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(set.Uploads)) != whole {
		t.Errorf("merged history has %d uploads, want %d", len(set.Uploads), whole)
	}
	if rep := checker.Check(set, checker.Options{Fencing: true}); !rep.OK() {
		t.Errorf("merged shards: %+v", rep)
	}
}
