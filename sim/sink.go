package sim

import (
	"sync"
	"time"

	"github.com/stormsim/stormsim/coordinator"
	"github.com/stormsim/stormsim/sim/history"
	"github.com/stormsim/stormsim/sim/measure"
	"github.com/stormsim/stormsim/sim/metrics"
	"github.com/stormsim/stormsim/sim/traffic"
)

// emitter is the run's one emission path: what the devices, the push
// subscription, the coordinator's observer, the handlers, the read-back,
// the scheduler and the fault timeline record goes through it, and it
// fans out to the history, the recorder, the saturation meter and the
// Prometheus collectors. Nothing else writes to them during a run, so a
// history replayed through the recorder (measure.Replay) gives the run's
// figures.
type emitter struct {
	hist *history.Writer
	// rec is set once the run has started, before the first upload.
	rec  *measure.Recorder
	sat  *measure.Meter
	prom *metrics.Set
}

var _ traffic.Sink = (*emitter)(nil)

// Started is an upload starting at at, lag after it could have.
func (e *emitter) Started(at time.Time, lag time.Duration) {
	e.sat.Launch.Add(lag)
	e.rec.Started(at)
	e.prom.UploadStarted()
}

// Polled is one answer of the result API; a failed poll counts by cause.
func (e *emitter) Polled(p history.Poll, err error) {
	if err != nil {
		e.rec.ErrorCause("poll", measure.Cause(err))
	}
	_ = e.hist.Write(p)
}

// TimerLate is how late a device's poll timer fired.
func (e *emitter) TimerLate(d time.Duration) { e.sat.Timer.Add(d) }

// Pushed is a push notification as it arrived.
func (e *emitter) Pushed(p history.Push) { _ = e.hist.Write(p) }

// Finished is an upload's end.
func (e *emitter) Finished(u *history.Upload, decided time.Time, errKind string) {
	if err := e.hist.Write(u); err != nil {
		e.rec.ErrorKind("history")
	}
	e.rec.Finished(u, decided, errKind)
	e.prom.ObserveUpload(string(u.Outcome), u.Done.Sub(u.Intended), u.Polls)
	e.prom.AddUploadBytes(u.Size)
}

// Decided is a coordinator's decision on an upload.
func (e *emitter) Decided(d coordinator.Decision) {
	switch d.State {
	case coordinator.StateCommitted:
		_ = e.hist.Write(history.Commit{T: history.KindCommit, ID: d.ID, User: d.User, Path: d.Path, Base: d.Base,
			Version: d.Version, SHA256: d.SHA256, Fence: d.Fence, At: d.DecidedAt})
	case coordinator.StateConflict:
		e.prom.Conflict()
		_ = e.hist.Write(history.Conflict{T: history.KindConflict, ID: d.ID, User: d.User, Path: d.Path, Base: d.Base,
			Head: d.Head, Copy: d.Copy, At: d.DecidedAt})
	case coordinator.StateRejected:
		_ = e.hist.Write(history.Reject{T: history.KindReject, ID: d.ID, User: d.User, Path: d.Path, Reason: d.Reason, At: d.DecidedAt})
	}
}

// Handled is one handler invocation, by how it ended (metrics.Handler*).
func (e *emitter) Handled(result string) { e.prom.HandlerInvoked(result) }

// Record is a history record no figure counts: fences, scheduler runs,
// fault windows and what the read-back found.
func (e *emitter) Record(rec any) { _ = e.hist.Write(rec) }

// Error counts one error of kind that no upload carries (read-back,
// scheduler).
func (e *emitter) Error(kind string) { e.rec.ErrorKind(kind) }

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
	// prefix is the run's object prefix (Options.ObjectPrefix); un finds
	// decisions made but never reported (unreported.go).
	prefix string
	un     unreported
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
	o.reportedLocked(d.ID)
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
