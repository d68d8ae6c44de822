package selftest

import (
	"github.com/stormsim/stormsim/coordinator"
	"github.com/stormsim/stormsim/coordinator/scheduler"
	"github.com/stormsim/stormsim/sim/checker"
)

// reviewerCases are guard mutants a reviewer would think of beyond the
// first list (guardCases): each removes one line of defence from a Redis
// script or the scheduler, and each is caught by a shipped scenario that
// CI runs. CaughtBy names what catches it there.
func reviewerCases() []Case {
	return []Case{
		{Name: "lock-without-ttl", Scenario: ScenarioAdversarial,
			Breaks:   "lock TTL: the lock script sets the lock without PX, so a holder that crashed keeps its file locked for good and every later upload of it waits in vain",
			CaughtBy: []string{"uploads.unknown == 0"},
			mutant:   scriptMutant("lock-without-ttl", scriptEdit{coordinator.ScriptLock, "ARGV[1], 'NX', 'PX', ARGV[2])", "ARGV[1], 'NX')"})},
		{Name: "lock-without-owner", Scenario: ScenarioAdversarial,
			Breaks:   "owner token: the lock script stores a constant instead of the holder's token, so no holder ever recognises its lock: releases free nothing, every file waits out the TTL and every winner repairs",
			CaughtBy: []string{"uploads.unknown == 0"},
			mutant:   scriptMutant("lock-without-owner", scriptEdit{coordinator.ScriptLock, "redis.call('SET', KEYS[1], ARGV[1], 'NX'", "redis.call('SET', KEYS[1], 'held', 'NX'"})},
		{Name: "fence-not-monotonic", Scenario: ScenarioAdversarialFence,
			Breaks:   "monotonic fencing token: the lock script sets the file's counter to 1 instead of incrementing it, so a stale holder's token equals the newer holder's and its commit passes the fence",
			CaughtBy: []string{checker.NameFencing},
			mutant:   scriptMutant("fence-not-monotonic", scriptEdit{coordinator.ScriptLock, "local f = redis.call('INCR', KEYS[2])", "redis.call('SET', KEYS[2], 1) local f = 1"})},
		{Name: "commit-record-missing", Scenario: ScenarioAdversarial,
			Breaks:   "decided once: the commit script writes no commit record, so a retry after a crash past the commit does not know it won and decides again (a conflict against its own version)",
			CaughtBy: []string{checker.NameAgreement},
			mutant:   scriptMutant("commit-record-missing", scriptEdit{coordinator.ScriptCommit, "redis.call('SET', KEYS[3], ARGV[6] .. '|' .. ARGV[1], 'EX', ARGV[7])\n", ""})},
		{Name: "push-every-result", Scenario: ScenarioAdversarial,
			Breaks:   "one push per upload: the result script publishes even when the result already existed, so a second delivery that reaches the result pushes again",
			CaughtBy: []string{checker.NameIdempotence},
			mutant:   scriptMutant("push-every-result", scriptEdit{coordinator.ScriptResult, "if new then redis.call('PUBLISH', ARGV[4], ARGV[1]) end", "redis.call('PUBLISH', ARGV[4], ARGV[1])"})},
		{Name: "copy-overwrites-copy", Scenario: ScenarioBilling,
			Breaks:   "conflicted copies never overwrite: the copy-name script takes the first name without checking the file's copy set, so a device's second conflict of a file on one day overwrites its first copy",
			CaughtBy: []string{checker.NameNothingDropped, checker.NameBilling},
			mutant:   scriptMutant("copy-overwrites-copy", scriptEdit{coordinator.ScriptCopyName, "if redis.call('SADD', KEYS[2], c) == 1 then name = c break end", "redis.call('SADD', KEYS[2], c) name = c break"})},
		{Name: "copy-name-not-reserved", Scenario: ScenarioBilling,
			Breaks:   "one conflicted copy per upload: the copy-name script does not record the name it gave, so a retry after a crash past the copy makes a second copy and meters it again",
			CaughtBy: []string{checker.NameBilling, "billing.double_counted == 0"},
			mutant:   scriptMutant("copy-name-not-reserved", scriptEdit{coordinator.ScriptCopyName, "  redis.call('SET', KEYS[1], name, 'EX', ARGV[3])\n", ""})},
		{Name: "meter-replace-not-subtracted", Scenario: ScenarioBilling,
			Breaks:   "metering a replaced file: the commit script adds the new version twice without subtracting the final object it replaces",
			CaughtBy: []string{checker.NameBilling, "billing.mismatched_users == 0"},
			mutant:   scriptMutant("meter-replace-not-subtracted", scriptEdit{coordinator.ScriptCommit, "2 * tonumber(ARGV[8]) - old", "2 * tonumber(ARGV[8])"})},
		{Name: "scheduler-no-cutoff", Scenario: ScenarioAdversarialBoundary,
			Breaks:   "cutoff: an invocation runs every pending event of its boundary, also those due after its own clock, so a fire early in the minute sends them early",
			CaughtBy: []string{checker.NameScheduler, "scheduler.early == 0"},
			mutant:   schedulerMutant("scheduler-no-cutoff", scheduler.GuardCutoff)},
		{Name: "scheduler-insert-unarmed", Scenario: ScenarioAdversarialScheduler,
			Breaks:   "arm register: an insert does not lower the armed minute and Fire arms without the versioned register, so an event inserted while a handler runs is never armed for",
			CaughtBy: []string{checker.NameScheduler, "scheduler.missed == 0"},
			mutant:   schedulerMutant("scheduler-insert-unarmed", scheduler.GuardRegister)},
	}
}
