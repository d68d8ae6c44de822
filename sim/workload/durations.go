package workload

import (
	"math/rand/v2"
	"time"

	"github.com/stormsim/stormsim/scenarios"
)

// DurationSampler draws durations from a scenario distribution (seconds).
func DurationSampler(d scenarios.Dist) func(*rand.Rand) time.Duration {
	if d.Kind == "" {
		return func(*rand.Rand) time.Duration { return 0 }
	}
	return func(r *rand.Rand) time.Duration {
		return time.Duration(Sample(d, r) * float64(time.Second))
	}
}
