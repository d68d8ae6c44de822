package selftest

import (
	"strings"
	"testing"

	"github.com/stormsim/stormsim/coordinator"
	"github.com/stormsim/stormsim/coordinator/scheduler"
)

// TestGuardMutants_Build: every guard mutant builds (its script edits still
// match the coordinator's sources), changes exactly what it names, and
// runs on a shipped scenario.
func TestGuardMutants_Build(t *testing.T) {
	for _, c := range append(guardCases(), reviewerCases()...) {
		if !c.Mutant() {
			if _, err := Scenario(c.Scenario); err != nil {
				t.Errorf("real on %s: %v", c.Scenario, err)
			}
			continue
		}
		t.Run(c.Name, func(t *testing.T) {
			if _, err := Scenario(c.Scenario); err != nil {
				t.Fatalf("scenario %s: %v", c.Scenario, err)
			}
			m := c.mutant()
			if m.err != nil {
				t.Fatal(m.err)
			}
			switch {
			case m.Scheduler != nil:
				off := 0
				for _, g := range scheduler.Guards {
					if m.Scheduler.Disabled(g) {
						off++
					}
				}
				if off != 1 {
					t.Errorf("%d scheduler guards off, want 1", off)
				}
			case m.Hooks.Script != nil:
				changed := 0
				for _, name := range []string{coordinator.ScriptLock, coordinator.ScriptCommit, coordinator.ScriptResult,
					coordinator.ScriptRelease, coordinator.ScriptCopyName, coordinator.ScriptCommitOnce} {
					src, _ := coordinator.ScriptSource(name)
					if got := m.Hooks.Script(name, src); got != src {
						changed++
						if strings.Count(got, "\n") > strings.Count(src, "\n") {
							t.Errorf("script %s grew: the mutant only removes", name)
						}
					}
				}
				if changed == 0 {
					t.Error("no script changed")
				}
			default:
				off := 0
				for _, g := range coordinator.Guards {
					if m.Hooks.Disabled(g) {
						off++
					}
				}
				if off != 1 {
					t.Errorf("%d guards off, want 1", off)
				}
			}
		})
	}
}

// TestScriptMutant_StaleEdit_Errors: an edit that no longer matches the
// source is an error, never a mutant that is silently the real system.
func TestScriptMutant_StaleEdit_Errors(t *testing.T) {
	m := scriptMutant("x", scriptEdit{coordinator.ScriptLock, "no such text", ""})()
	if m.err == nil {
		t.Fatal("stale edit accepted")
	}
}
