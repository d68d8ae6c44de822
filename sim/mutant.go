package sim

import (
	"github.com/stormsim/stormsim/coordinator"
	"github.com/stormsim/stormsim/coordinator/scheduler"
	"github.com/stormsim/stormsim/sim/delivery"
	"github.com/stormsim/stormsim/sim/env"
)

// Mutant breaks the system under test on purpose, to prove that the gates
// catch it (simrun selftest). Mutants live in the harness: a scenario file
// cannot select one, and they never change the coordinator's code paths
// beyond its documented Hooks (coordinator.Hooks, scheduler.Hooks).
type Mutant struct {
	Name string
	// Hooks are installed into the coordinator.
	Hooks *coordinator.Hooks
	// WrapHandler replaces the event handler. Such a handler meters no
	// usage, so its runs read none back (no billing check).
	WrapHandler func(h delivery.Handler, e *env.Env, c *coordinator.Coordinator) delivery.Handler
	// IgnorePush makes devices ignore pushes and always poll.
	IgnorePush bool
	// Scheduler breaks the self-rescheduling scheduler (schedsim.Config).
	Scheduler *scheduler.Hooks
}
