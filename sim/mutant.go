package sim

import (
	"math/rand/v2"
	"runtime"
	"time"

	"github.com/stormsim/stormsim/coordinator"
	"github.com/stormsim/stormsim/coordinator/scheduler"
	"github.com/stormsim/stormsim/scenarios"
	"github.com/stormsim/stormsim/sim/workload"
)

// Mutant breaks the system under test on purpose, to prove that the gates
// catch it (simrun selftest). Mutants live in the harness: a scenario file
// cannot select one, and they never change the coordinator's code paths
// beyond its documented Hooks (coordinator.Hooks, scheduler.Hooks).
type Mutant struct {
	Name string
	// Hooks are installed into the coordinator.
	Hooks *coordinator.Hooks
	// WrapHandler replaces the event handler.
	WrapHandler func(h Handler, env *Env, c *coordinator.Coordinator) Handler
	// IgnorePush makes devices ignore pushes and always poll.
	IgnorePush bool
	// Scheduler breaks the self-rescheduling scheduler (schedsim.Config).
	Scheduler *scheduler.Hooks

	// err says why the mutant could not be built (a script edit that no
	// longer applies to the coordinator's source); Run reports it.
	err error
}

// durationSampler draws durations from a scenario distribution (seconds).
func durationSampler(d scenarios.Dist) func(*rand.Rand) time.Duration {
	if d.Kind == "" {
		return func(*rand.Rand) time.Duration { return 0 }
	}
	return func(r *rand.Rand) time.Duration {
		return time.Duration(workload.Sample(d, r) * float64(time.Second))
	}
}

func newRand(seed uint64, name string) *rand.Rand {
	return workload.NewStreams(seed).Rand(name)
}

func numCPU() int { return runtime.NumCPU() }
