package regions

import (
	"math/rand/v2"
	"time"

	"github.com/stormsim/stormsim/scenarios"
)

// Where users and devices are, and how devices poll: shared with the
// capacity model (model/), which plays a regions scenario in virtual time
// from the same placement.

// HomesStream is the workload stream (workload.Streams) the users' home
// regions are drawn from; ReplicationStream the one the replication
// queue faults draw from.
const (
	HomesStream       = "regions"
	ReplicationStream = "replication"
)

// Homes draws each user's home region (an index of sc.Regions.List): the
// pin, or by the regions' users shares.
func Homes(sc *scenarios.Scenario, rng *rand.Rand) []int {
	rg := sc.Regions
	out := make([]int, sc.Population.Users)
	for u := range out {
		if rg.Pin != "" {
			out[u] = rg.Index(rg.Pin)
			continue
		}
		x, acc := rng.Float64(), 0.0
		out[u] = len(rg.List) - 1
		for i, g := range rg.List {
			if acc += g.Users; x < acc {
				out[u] = i
				break
			}
		}
	}
	return out
}

// DeviceRegion is the region device index d of a user is connected to.
func DeviceRegion(rg *scenarios.Regions, d int) int {
	for i, g := range rg.List {
		if d < g.Devices {
			return i
		}
		d -= g.Devices
	}
	return len(rg.List) - 1
}

// PollSchedule is how a device polls its home region's result: every
// interval from the staging PUT's answer on, until timeout.
func PollSchedule(sc *scenarios.Scenario) (interval, timeout time.Duration) {
	return max(sc.Wait.Poll.Interval, 50*time.Millisecond), max(sc.Wait.Poll.Timeout, 5*time.Second)
}
