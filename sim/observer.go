package sim

import (
	"sync"

	"github.com/stormsim/stormsim/coordinator"
	"github.com/stormsim/stormsim/sim/history"
)

type fileKey struct{ user, path string }

// observer hands the coordinator's decisions and fences to the run's
// emitter and keeps what the read-back and the faults need of them.
type observer struct {
	emit *emitter

	mu        sync.Mutex // guards below
	files     map[fileKey]struct{}
	decisions map[string]int64
	// leases names the file of each upload that took a lock, for faults
	// that act on a handler's own lock (redis-lock-expiry); only kept when
	// such a fault is configured.
	leases map[string]fileKey
}

// Fenced records a fencing token as issued (coordinator.FenceObserver).
func (o *observer) Fenced(f coordinator.FenceIssued) {
	o.emit.Record(history.Fence{T: history.KindFence, User: f.User, Path: f.Path, Fence: f.Fence, ID: f.UploadID, At: f.At})
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.leases != nil {
		o.leases[f.UploadID] = fileKey{f.User, f.Path}
	}
}

// leaseOf returns the file whose lock upload id took last (fault.Target's
// Lease).
func (o *observer) leaseOf(id string) (user, path string, ok bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	k, ok := o.leases[id]
	return k.user, k.path, ok
}

func (o *observer) Decided(d coordinator.Decision) {
	o.emit.Decided(d)
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.decisions == nil {
		o.decisions = map[string]int64{}
	}
	o.decisions[d.State]++
	if d.State != coordinator.StateCommitted {
		delete(o.leases, d.ID) // decided for good; a commit may still copy
	}
	if d.State == coordinator.StateRejected {
		return
	}
	o.files[fileKey{d.User, d.Path}] = struct{}{}
}

func (o *observer) counts() map[string]int64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	m := map[string]int64{}
	for k, v := range o.decisions {
		m[k] = v
	}
	return m
}
