package selftest

import (
	"context"
	"fmt"
	"hash/fnv"
	"os"
	"sync"
	"time"

	"github.com/stormsim/stormsim/coordinator"
	"github.com/stormsim/stormsim/coordinator/scheduler"
	"github.com/stormsim/stormsim/internal/syncx"
	"github.com/stormsim/stormsim/scenarios"
	"github.com/stormsim/stormsim/sim"
	"github.com/stormsim/stormsim/sim/checker"
)

// The self-test (simrun selftest) proves that the gates can fail: it runs
// the real system and a set of mutants, each breaking one promise, on
// short built-in scenarios, and every mutant must be caught by some
// invariant or gate while the real system passes them all. Mutants and
// these scenarios live here, in the harness: a scenario file cannot select
// one, and none changes the coordinator's code. Faults (pauses, crashes)
// reach the real handler through coordinator.Hooks, and the naive handler
// behind the protocol mutants calls the same hooks at the same steps.

// Case is one run of the self-test.
type Case struct {
	// Name is "real" for the system as built, else the mutant's name.
	Name string
	// Scenario names the built-in self-test scenario (Scenario).
	Scenario string
	// Breaks says which promise the mutant breaks and how.
	Breaks string
	// CaughtBy lists the invariants (checker names) or gates (expressions)
	// that must catch the mutant; the tests hold the self-test to it.
	CaughtBy []string

	mutant func() mutant
}

// mutant is a built mutant, or why it could not be built (a script edit
// that no longer applies to the coordinator's source).
type mutant struct {
	*sim.Mutant
	err error
}

// Mutant reports whether the case breaks something (is not "real").
func (c Case) Mutant() bool { return c.Name != RealName }

// RealName names the runs of the system as built.
const RealName = "real"

// Self-test scenario names.
const (
	ScenarioRace      = "selftest-race"
	ScenarioRetry     = "selftest-retry"
	ScenarioPush      = "selftest-push"
	ScenarioScheduler = "selftest-scheduler"
)

// Cases lists the self-test: the real system on every self-test
// scenario, then each mutant on the scenario that provokes its bug.
func Cases() []Case {
	naiveMutant := func(name string, n naive) func() mutant {
		return func() mutant { return mutant{Mutant: &sim.Mutant{Name: name, WrapHandler: n.wrap}} }
	}
	return append([]Case{
		{Name: RealName, Scenario: ScenarioRace},
		{Name: RealName, Scenario: ScenarioRetry},
		{Name: RealName, Scenario: ScenarioPush},
		{Name: RealName, Scenario: ScenarioScheduler},
		{Name: "no-lock", Scenario: ScenarioRace,
			Breaks:   "one winner: reads the head, decides and writes the head without a lock (20ms between read and write)",
			CaughtBy: []string{checker.NameOneWinner, checker.NameNoLostUpdate, checker.NameLinearizability},
			mutant:   naiveMutant("no-lock", naive{noLock: true, raceWindow: 20 * time.Millisecond})},
		{Name: "no-fencing", Scenario: ScenarioRace,
			Breaks:   "fencing: locks, but commits with a plain write; a holder paused past the lock TTL commits after a newer holder",
			CaughtBy: []string{checker.NameOneWinner, checker.NameFencing},
			mutant:   naiveMutant("no-fencing", naive{noFence: true})},
		{Name: "not-idempotent", Scenario: ScenarioRetry,
			Breaks:   "idempotence: never looks for an earlier decision, so a duplicate or retried event decides again and pushes again",
			CaughtBy: []string{checker.NameIdempotence, checker.NameAgreement},
			mutant:   naiveMutant("not-idempotent", naive{noDedupe: true})},
		{Name: "result-overwritten", Scenario: ScenarioRetry,
			Breaks:   "stability: dedupes only by a result check before locking and stores results with a plain SET; a duplicate that slips past re-decides (200ms after taking the lock) and overwrites the answer",
			CaughtBy: []string{checker.NameStability, checker.NameAgreement, checker.NameIdempotence},
			mutant:   naiveMutant("result-overwritten", naive{overwrite: true, decideDelay: 200 * time.Millisecond})},
		{Name: "loser-dropped", Scenario: ScenarioRace,
			Breaks:   "nothing dropped: a conflict names a conflicted copy that is never made",
			CaughtBy: []string{checker.NameNothingDropped},
			mutant:   naiveMutant("loser-dropped", naive{dropLoser: true})},
		{Name: "result-before-copy", Scenario: ScenarioRetry,
			Breaks:   "durability: stores and pushes the result (and frees the lock) before copying to the final key, 100ms later",
			CaughtBy: []string{checker.NameNoLostUpdate, checker.NameLinearizability},
			mutant:   naiveMutant("result-before-copy", naive{resultFirst: true, copyDelay: 100 * time.Millisecond})},
		{Name: "scheduler-early", Scenario: ScenarioScheduler,
			Breaks:   "never early: re-arms the rule to the minute that contains the earliest event",
			CaughtBy: []string{checker.NameScheduler, "scheduler.early == 0"},
			mutant:   schedulerMutant("scheduler-early", scheduler.GuardRoundUp, scheduler.GuardCutoff)},
		{Name: "scheduler-loses-inserts", Scenario: ScenarioScheduler,
			Breaks:   "exactly once: events inserted while the handler runs are not armed for and never run",
			CaughtBy: []string{checker.NameScheduler, "scheduler.missed == 0"},
			mutant:   schedulerMutant("scheduler-loses-inserts", scheduler.GuardRegister)},
		{Name: "ignore-push", Scenario: ScenarioPush,
			Breaks:   "push first: devices ignore pushes and always poll",
			CaughtBy: []string{"polls.zero_share >= 0.5", "polls.mean <= 0.5"},
			mutant:   func() mutant { return mutant{Mutant: &sim.Mutant{Name: "ignore-push", IgnorePush: true}} }},
	}, append(guardCases(), reviewerCases()...)...)
}

// selfTestScenario is a built-in self-test scenario and the harness-side
// faults that come with it; the real system gets the same faults.
type selfTestScenario struct {
	yaml   string
	faults faultPlan
	// storeLatency is the scheduler store's latency (schedsim.Config); it
	// widens the window in which an insert races a running handler.
	storeLatency time.Duration
}

var selfTestScenarios = map[string]selfTestScenario{
	// Bursts on each user's hot file with a short lock TTL; 8% of handler
	// invocations pause 800ms while holding the lock, past its TTL (locks
	// expire up to 200ms late in the embedded Redis), so another upload
	// takes the lock and a fenced commit must turn the stale holder away.
	// Waiters give up on a busy lock after twice its TTL and are retried;
	// five retries (not Lambda's two) keep a starved CI runner's hot-file
	// backlog from exhausting them.
	ScenarioRace: {yaml: `
name: selftest-race
description: Self-test - bursts on hot files, a short lock TTL, holders paused past it.
seed: 101
drain: 15s
phases:
  - {kind: burst, name: burst, count: 150, at: 0s, duration: 500ms}
  - {kind: constant, name: steady, rate: 100, duration: 2s}
population: {users: 25, devices_per_user: 3, files_per_user: 4, hot_files: 1, hot_share: 0.6, stale_share: 0.05, max_staleness: 2}
sizes: {kind: lognormal, median: 2KiB, sigma: 1, cap: 32KiB}
coordinator: {concurrency: 32, lock_ttl: 300ms, retries: 5}
gates:
  - invariants.violations == 0
  - uploads.unknown == 0
  - uploads.error == 0
`, faults: faultPlan{PauseStep: coordinator.StepAfterLock, PauseShare: 0.08, Pause: 800 * time.Millisecond}},

	// Half the events are delivered twice, and a quarter of the uploads'
	// handlers crash right after storing the result (before the staged
	// object is deleted), so Lambda retries them.
	ScenarioRetry: {yaml: `
name: selftest-retry
description: Self-test - duplicated events and handlers that crash after the result.
seed: 102
drain: 15s
phases:
  - {kind: burst, name: burst, count: 100, at: 0s, duration: 500ms}
  - {kind: constant, name: steady, rate: 100, duration: 2s}
population: {users: 40, devices_per_user: 3, files_per_user: 4, hot_files: 1, hot_share: 0.5, stale_share: 0.05, max_staleness: 2}
sizes: {kind: lognormal, median: 2KiB, sigma: 1, cap: 32KiB}
coordinator: {concurrency: 32}
delivery: {duplicate: 0.5, delay: {kind: uniform, min: 0, max: 5ms}}
gates:
  - invariants.violations == 0
  - uploads.unknown == 0
  - uploads.error == 0
`, faults: faultPlan{CrashStep: coordinator.StepAfterResult, CrashShare: 0.25}},

	// A light trickle where pushes arrive at once and devices give the
	// push three seconds before their first poll, so nearly every device
	// learns its outcome without polling however loaded the machine (with
	// the "auto" first poll, or even a fixed second, a CI runner busy with
	// race-detector tests polls before the decision).
	ScenarioPush: {yaml: `
name: selftest-push
description: Self-test - steady uploads with prompt pushes.
seed: 103
drain: 15s
phases:
  - {kind: constant, name: steady, rate: 25, duration: 3s}
population: {users: 75, devices_per_user: 2, files_per_user: 10, hot_files: 1, hot_share: 0.05}
sizes: {kind: lognormal, median: 2KiB, sigma: 1, cap: 32KiB}
wait: {push: true, push_delay: {kind: fixed, value: 0}, poll: {first_delay: 3s}}
gates:
  - invariants.violations == 0
  - uploads.unknown == 0
  - polls.zero_share >= 0.5
  - polls.mean <= 0.5
`},

	// Six virtual hours of sign-ups with events due within ten minutes, on
	// an eventually consistent store, so inserts race running handlers.
	ScenarioScheduler: {yaml: `
name: selftest-scheduler
description: Self-test - the self-rescheduling scheduler, inserts racing its handler.
seed: 104
scheduler:
  strategy: self-rescheduling
  days: 0.25
  clock: virtual
  new_users_per_hour: 20
  events_per_user: 1
  due_offsets: [{kind: uniform, min: 0, max: 10m}]
  staleness: 10s
gates:
  - invariants.violations == 0
  - scheduler.early == 0
  - scheduler.missed == 0
  - scheduler.duplicates == 0
`, storeLatency: time.Second},
}

// Scenario parses a built-in self-test scenario, or a shipped
// scenario file (the guard mutants' scenarios/adversarial*.yaml).
func Scenario(name string) (*scenarios.Scenario, error) {
	s, ok := selfTestScenarios[name]
	if !ok {
		data, ok := scenarios.Builtin(name)
		if !ok {
			return nil, fmt.Errorf("self-test scenario %q: %w", name, os.ErrNotExist)
		}
		return scenarios.Parse(name+".yaml", data)
	}
	return scenarios.Parse(name+".yaml", []byte(s.yaml))
}

// Result is what one self-test run measured.
type Result struct {
	Case     Case
	Scenario *scenarios.Scenario
	// Upload is set for upload scenarios, Scheduler for scheduler ones.
	Upload    *sim.Result
	Scheduler *sim.SchedulerResult
	Elapsed   time.Duration
}

// Run runs the case with the scenario's seed; outDir must exist and
// receives the run's history.jsonl.
func (c Case) Run(ctx context.Context, outDir string) (*Result, error) {
	sc, err := Scenario(c.Scenario)
	if err != nil {
		return nil, err
	}
	return c.RunOn(ctx, sc, outDir)
}

// RunOn runs the case's system (real or mutant) on sc with its seed, with
// the harness-side faults of a built-in self-test scenario of that name
// (the kill matrix runs every mutant over scenario files this way).
func (c Case) RunOn(ctx context.Context, sc *scenarios.Scenario, outDir string) (*Result, error) {
	spec := selfTestScenarios[sc.Name]
	run := &Result{Case: c, Scenario: sc}
	start := time.Now()
	defer func() { run.Elapsed = time.Since(start) }()
	var m *sim.Mutant
	if c.mutant != nil {
		built := c.mutant()
		if built.err != nil {
			return nil, fmt.Errorf("build mutant %s: %w", c.Name, built.err)
		}
		m = built.Mutant
	}
	if sc.Scheduler != nil {
		cfg, err := sim.SchedConfig(sc.Scheduler, sc.Seed)
		if err != nil {
			return nil, err
		}
		cfg.StoreLatency = spec.storeLatency
		if m != nil {
			cfg.Hooks = m.Scheduler
		}
		run.Scheduler, err = sim.RunSchedulerConfig(ctx, cfg, outDir, sim.MailRun{Email: sc.Scheduler.Email, Seed: sc.Seed})
		return run, err
	}
	if hooks := spec.faults.hooks(); hooks != nil {
		if m == nil {
			m = &sim.Mutant{Name: RealName}
		}
		if m.Hooks != nil {
			hooks.Script, hooks.Disabled = m.Hooks.Script, m.Hooks.Disabled
		}
		m.Hooks = hooks
	}
	var err error
	run.Upload, err = sim.Run(ctx, sim.Options{Scenario: sc, Seed: sc.Seed, OutDir: outDir, Mutant: m,
		CheckTimeout: 20 * time.Second})
	return run, err
}

// Mutants lists every mutant once (the kill matrix's rows).
func Mutants() []Case {
	var out []Case
	seen := map[string]bool{}
	for _, c := range Cases() {
		if c.Mutant() && !seen[c.Name] {
			seen[c.Name] = true
			out = append(out, c)
		}
	}
	return out
}

// UploadOnly reports whether the mutant breaks the upload system (it
// cannot change a scheduler run).
func (c Case) UploadOnly() bool {
	return c.mutant != nil && c.mutant().Scheduler == nil
}

// faultPlan injects faults through coordinator.Hooks, so the real handler
// and the naive ones (which call the same hooks) meet the same faults.
// Uploads are picked by a hash of their id, and each is paused or crashed
// at most once, so retries go through.
type faultPlan struct {
	PauseStep  string
	PauseShare float64
	Pause      time.Duration
	CrashStep  string
	CrashShare float64
}

func (f faultPlan) hooks() *coordinator.Hooks {
	if f.PauseShare <= 0 && f.CrashShare <= 0 {
		return nil
	}
	var mu sync.Mutex
	hit := map[string]bool{}
	once := func(kind, id string, share float64) bool {
		if unit(kind+"|"+id) >= share {
			return false
		}
		mu.Lock()
		defer mu.Unlock()
		if hit[kind+id] {
			return false
		}
		hit[kind+id] = true
		return true
	}
	return &coordinator.Hooks{Step: func(ctx context.Context, id, step string) error {
		if step == f.PauseStep && once("pause", id, f.PauseShare) {
			syncx.Sleep(ctx, f.Pause)
		}
		if step == f.CrashStep && once("crash", id, f.CrashShare) {
			return coordinator.ErrCrash
		}
		return nil
	}}
}

// unit hashes s to [0, 1): FNV-1a, then the splitmix64 finalizer, since
// FNV's high bits barely move between ids that differ in the last digits.
func unit(s string) float64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	x := h.Sum64()
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	x ^= x >> 31
	return float64(x>>11) / (1 << 53)
}
