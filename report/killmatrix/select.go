package killmatrix

import (
	"fmt"
	"slices"
	"strings"

	"github.com/stormsim/stormsim/sim/regions"
	"github.com/stormsim/stormsim/sim/selftest"
)

// Selection is the runs a self-test makes: the named mutants and the
// real system on each of their scenarios (so a catch is shown to come
// from the mutation, not from the scenario). The zero Selection is every
// case, what CI runs.
type Selection struct {
	mutants   []string
	scenarios []string
}

// Select picks the named mutants, of selftest.Cases and
// regions.SelfTestCases, and the real system on their scenarios. No names
// selects every case; a name that is no mutant is an error.
func Select(names []string) (Selection, error) {
	var s Selection
	for _, c := range cases() {
		if c.Mutant() && slices.Contains(names, c.Name) {
			s.mutants = append(s.mutants, c.Name)
			if !slices.Contains(s.scenarios, c.Scenario) {
				s.scenarios = append(s.scenarios, c.Scenario)
			}
		}
	}
	var unknown []string
	for _, n := range names {
		if !slices.Contains(s.mutants, n) {
			unknown = append(unknown, n)
		}
	}
	if len(unknown) > 0 {
		return Selection{}, fmt.Errorf("no mutant named %s", strings.Join(unknown, ", "))
	}
	return s, nil
}

// picks reports whether the selection runs case c.
func (s Selection) picks(c selftest.Case) bool {
	if len(s.mutants) == 0 {
		return true
	}
	if c.Mutant() {
		return slices.Contains(s.mutants, c.Name)
	}
	return slices.Contains(s.scenarios, c.Scenario)
}

// planned is the number of runs the selection makes.
func (s Selection) planned() int {
	n := 0
	for _, c := range cases() {
		if s.picks(c) {
			n++
		}
	}
	return n
}

// cases is every self-test case as the kill matrix judges it: the upload
// and scheduler cases, then the replicator's.
func cases() []selftest.Case {
	out := selftest.Cases()
	for _, c := range regions.SelfTestCases() {
		out = append(out, RegionsCase(c))
	}
	return out
}
