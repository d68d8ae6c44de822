package traffic

import (
	"github.com/stormsim/stormsim/scenarios"
	"github.com/stormsim/stormsim/sim/workload"
)

// deviceChain orders a device's follow-on edits after its previous upload
// (scenarios.Phase.Follow): a sync client edits a file from the head it
// learned, so the edit waits for the outcome of the upload before it.
// It holds one channel per device, the one of its latest upload, and is
// used by the one goroutine that launches arrivals. A nil chain (no
// follow-on edits in the scenario) links nothing.
type deviceChain struct {
	pop  *scenarios.Population
	last []chan struct{}
}

func newDeviceChain(sc *scenarios.Scenario) *deviceChain {
	if !workload.HasFollow(sc) {
		return nil
	}
	p := &sc.Population
	return &deviceChain{pop: p, last: make([]chan struct{}, max(p.Users, 1)*max(p.DevicesPerUser, 1))}
}

// link makes arr wait for its device's previous upload when a is a
// follow-on edit, and returns the channel to close when arr's upload
// ends (nil when nothing can wait for it).
func (c *deviceChain) link(arr *arrival, a workload.Arrival) chan struct{} {
	if c == nil {
		return nil
	}
	slot := workload.DeviceSlot(c.pop, a.User, a.Device)
	if a.Follow {
		arr.after = c.last[slot]
	}
	done := make(chan struct{})
	c.last[slot] = done
	return done
}
