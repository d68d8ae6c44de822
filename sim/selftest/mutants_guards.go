package selftest

import (
	"fmt"
	"slices"
	"strings"

	"github.com/stormsim/stormsim/coordinator"
	"github.com/stormsim/stormsim/coordinator/scheduler"
	"github.com/stormsim/stormsim/sim"
	"github.com/stormsim/stormsim/sim/checker"
)

// Guard mutants: the real coordinator (or scheduler) with exactly one
// protocol guard removed, through its Hooks. A guard in a Redis script is
// removed by editing that script's source (coordinator.Hooks.Script), a
// guard in Go by naming it (Hooks.Disabled); the coordinator's own code is
// otherwise what runs in production. Each is caught by a shipped scenario
// that CI runs (scenarios/adversarial*.yaml, scenarios/billing.yaml),
// which creates the situation the guard exists for.

// Scenarios of the guard mutants: the shipped scenario files (embedded in
// package scenarios), so the self-test proves exactly what CI runs.
const (
	ScenarioAdversarial          = "adversarial"
	ScenarioAdversarialNoRetry   = "adversarial-noretry"
	ScenarioAdversarialScheduler = "adversarial-scheduler"
	ScenarioAdversarialBoundary  = "adversarial-boundary"
	ScenarioAdversarialFailover  = "adversarial-failover"
	ScenarioAdversarialLateCopy  = "adversarial-latecopy"
	ScenarioAdversarialFence     = "adversarial-fence"
	ScenarioBilling              = "billing"
	ScenarioEmailDay             = "email-day"
)

// scriptEdit replaces Old by New in the source of the named script.
type scriptEdit struct{ Script, Old, New string }

// scriptMutant builds a mutant of the real coordinator whose scripts carry
// the edits. An edit that no longer matches the coordinator's source is an
// error (the mutant would silently be the real system).
func scriptMutant(name string, edits ...scriptEdit) func() mutant {
	return func() mutant {
		m := mutant{Mutant: &sim.Mutant{Name: name}}
		srcs := map[string]string{}
		for _, e := range edits {
			src, ok := srcs[e.Script]
			if !ok {
				if src, ok = coordinator.ScriptSource(e.Script); !ok {
					m.err = fmt.Errorf("no script %q", e.Script)
					return m
				}
			}
			if !strings.Contains(src, e.Old) {
				m.err = fmt.Errorf("script %q no longer contains %q", e.Script, e.Old)
				return m
			}
			srcs[e.Script] = strings.Replace(src, e.Old, e.New, 1)
		}
		m.Hooks = &coordinator.Hooks{Script: func(name, src string) string {
			if s, ok := srcs[name]; ok {
				return s
			}
			return src
		}}
		return m
	}
}

// guardMutant builds a mutant of the real coordinator without one Go-side
// guard (coordinator.Guards).
func guardMutant(name, guard string) func() mutant {
	return func() mutant {
		return mutant{Mutant: &sim.Mutant{Name: name, Hooks: &coordinator.Hooks{Disabled: func(g string) bool { return g == guard }}}}
	}
}

// schedulerMutant builds a mutant of the real scheduler without the named
// guards (scheduler.Guards).
func schedulerMutant(name string, guards ...string) func() mutant {
	return func() mutant {
		return mutant{Mutant: &sim.Mutant{Name: name, Scheduler: &scheduler.Hooks{Disabled: func(g string) bool { return slices.Contains(guards, g) }}}}
	}
}

// guardCases are the guard mutants, each on the shipped scenario that
// catches it.
func guardCases() []Case {
	return []Case{
		{Name: RealName, Scenario: ScenarioAdversarial},
		{Name: RealName, Scenario: ScenarioAdversarialNoRetry},
		{Name: RealName, Scenario: ScenarioAdversarialFailover},
		{Name: RealName, Scenario: ScenarioAdversarialScheduler},
		{Name: RealName, Scenario: ScenarioAdversarialBoundary},
		{Name: RealName, Scenario: ScenarioAdversarialLateCopy},
		{Name: RealName, Scenario: ScenarioAdversarialFence},
		{Name: RealName, Scenario: ScenarioBilling},
		{Name: RealName, Scenario: ScenarioEmailDay},
		{Name: "release-any-holder", Scenario: ScenarioAdversarialNoRetry,
			Breaks:   "holder check on release: the release and the result script delete the lock whoever holds it; a handler whose lock expired frees its successor's",
			CaughtBy: []string{"delivery.failures == 0"},
			mutant: scriptMutant("release-any-holder",
				scriptEdit{coordinator.ScriptRelease, "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end\nreturn 0", "return redis.call('DEL', KEYS[1])"},
				scriptEdit{coordinator.ScriptResult, "ARGV[2] ~= '' and redis.call('GET', KEYS[2]) == ARGV[2]", "ARGV[2] ~= ''"})},
		{Name: "shared-lock", Scenario: ScenarioAdversarialNoRetry,
			Breaks:   "exclusive acquire: the lock script sets the lock without NX, so a second upload of the file takes it while the first holds it",
			CaughtBy: []string{"delivery.failures == 0"},
			mutant:   scriptMutant("shared-lock", scriptEdit{coordinator.ScriptLock, "ARGV[1], 'NX', 'PX'", "ARGV[1], 'PX'"})},
		{Name: "unfenced-commit", Scenario: ScenarioAdversarialFence,
			Breaks:   "fence check at commit: the commit script does not compare the fencing token; a holder whose lock expired commits after a newer token was issued",
			CaughtBy: []string{checker.NameFencing},
			mutant:   scriptMutant("unfenced-commit", scriptEdit{coordinator.ScriptCommit, "if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 'stale' end\n", ""})},
		{Name: "no-base-recheck", Scenario: ScenarioAdversarialFailover,
			Breaks:   "base re-check at commit: the commit script trusts the head read under the lock; after a failover that lost the last fence increment, two holders share a token and both commit on one base",
			CaughtBy: []string{checker.NameOneWinner},
			mutant:   scriptMutant("no-base-recheck", scriptEdit{coordinator.ScriptCommit, "if v ~= tonumber(ARGV[2]) then return 'moved' end\n", ""})},
		{Name: "result-not-set-once", Scenario: ScenarioAdversarial,
			Breaks:   "set-once result: the result script writes and publishes without NX; two deliveries of one upload whose lock expired both answer and push",
			CaughtBy: []string{checker.NameIdempotence},
			mutant:   scriptMutant("result-not-set-once", scriptEdit{coordinator.ScriptResult, "ARGV[1], 'NX', 'EX'", "ARGV[1], 'EX'"})},
		{Name: "no-path-validation", Scenario: ScenarioAdversarial,
			Breaks:   "path validation: a staged upload with a path such as ../../x or /x is decided instead of rejected",
			CaughtBy: []string{"uploads.error == 0"},
			mutant:   guardMutant("no-path-validation", coordinator.GuardPathValidation)},
		{Name: "staged-dropped-on-failure", Scenario: ScenarioAdversarial,
			Breaks:   "staged object kept until the winner's copies exist: a failed invocation deletes it, so the retry after a crash past the commit has nothing to copy",
			CaughtBy: []string{"uploads.unknown == 0"},
			mutant:   guardMutant("staged-dropped-on-failure", coordinator.GuardStagedKept)},
		{Name: "no-late-copy-repair", Scenario: ScenarioAdversarialLateCopy,
			Breaks:   "late-copy repair: a winner whose lock expired before its copy to the final key does not re-take the lock and restore the head's bytes, so its late copy buries a newer version",
			CaughtBy: []string{checker.NameNoLostUpdate},
			mutant:   guardMutant("no-late-copy-repair", coordinator.GuardLateCopyRepair)},
		{Name: "copy-metered-twice", Scenario: ScenarioBilling,
			Breaks:   "metering once per decision: the conflicted-copy script meters every call, also a retry's that reuses the reserved name, so a handler that crashed after its copy bills the copy twice",
			CaughtBy: []string{checker.NameBilling, "billing.mismatched_users == 0", "billing.double_counted == 0"},
			mutant: scriptMutant("copy-metered-twice",
				scriptEdit{coordinator.ScriptCopyName, "if new then meter(", "meter("},
				scriptEdit{coordinator.ScriptCopyName, "ARGV[9]) end\nreturn name", "ARGV[9])\nreturn name"})},
		{Name: "scheduler-rearm-no-lead", Scenario: ScenarioAdversarialScheduler,
			Breaks:   "rule-update lead when re-arming: Fire arms the next boundary even when the slow rule update lands after it has begun, so the fire is missed",
			CaughtBy: []string{"scheduler.lateness.max <= 150s"},
			mutant:   schedulerMutant("scheduler-rearm-no-lead", scheduler.GuardRearmLead)},
		{Name: "mailer-not-idempotent", Scenario: ScenarioEmailDay,
			Breaks:   "send once: the mailer sends without claiming the event id in its ledger, so a handler retried after the send, a re-inserted reminder or a second run sends the e-mail again",
			CaughtBy: []string{checker.NameEmail, "email.duplicates == 0"},
			mutant:   schedulerMutant("mailer-not-idempotent", scheduler.GuardMailClaim)},
		{Name: "scheduler-boundary-late", Scenario: ScenarioAdversarialBoundary,
			Breaks:   "minute-boundary rounding: a due time on a boundary is armed for the next boundary, a minute late",
			CaughtBy: []string{"scheduler.lateness.max < 45s"},
			mutant:   schedulerMutant("scheduler-boundary-late", scheduler.GuardBoundary)},
	}
}
