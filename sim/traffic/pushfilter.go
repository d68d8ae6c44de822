package traffic

import (
	"sync"
	"time"

	"github.com/stormsim/stormsim/coordinator"
	"github.com/stormsim/stormsim/scenarios"
	"github.com/stormsim/stormsim/sim/workload"
)

// lossy applies the scenario's push loss and delay between the channel
// and the devices, and lost (a push outage, a mutant ignoring pushes; nil
// for none) before them.
func lossy(next func(coordinator.Result), w scenarios.Wait, seed uint64, lost func() bool) func(coordinator.Result) {
	loss, delayDist := w.PushLoss, w.PushDelay
	if loss <= 0 && delayDist.Kind == "" && lost == nil {
		return next
	}
	var mu sync.Mutex
	rng := workload.NewStreams(seed).Rand("push")
	sample := workload.DurationSampler(delayDist)
	return func(res coordinator.Result) {
		if lost != nil && lost() {
			return // devices fall back to polling
		}
		mu.Lock()
		dropped := loss > 0 && rng.Float64() < loss
		var d time.Duration
		if delayDist.Kind != "" {
			d = sample(rng)
		}
		mu.Unlock()
		if dropped {
			return
		}
		if d <= 0 {
			next(res)
			return
		}
		time.AfterFunc(d, func() { next(res) })
	}
}
