package regions

import (
	"cmp"
	"slices"
	"sync"
	"time"

	"github.com/stormsim/stormsim/coordinator"
	"github.com/stormsim/stormsim/region"
	"github.com/stormsim/stormsim/sim/history"
)

// recorder is the one sink of a run: every decision, replication outcome,
// read and notification goes to the history, and the home heads it learns
// are kept for the records that need them (a read's home head, a replica's
// commit time).
type recorder struct {
	w *history.Writer

	mu      sync.Mutex // guards the fields below
	heads   map[fileKey]int64
	commits map[fileVersion]time.Time
	touched map[fileKey]bool
	lost    []history.Conflict // conflicts, for the read-back of their copies
}

type fileKey struct{ user, path string }

type fileVersion struct {
	fileKey
	v int64
}

func newRecorder(w *history.Writer) *recorder {
	return &recorder{w: w, heads: map[fileKey]int64{}, commits: map[fileVersion]time.Time{}, touched: map[fileKey]bool{}}
}

// touch notes a file a device uploaded to.
func (r *recorder) touch(user, path string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.touched[fileKey{user, path}] = true
}

// touchedFiles lists the files devices uploaded to, sorted.
func (r *recorder) touchedFiles() []fileKey {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]fileKey, 0, len(r.touched))
	for k := range r.touched {
		out = append(out, k)
	}
	slices.SortFunc(out, func(a, b fileKey) int { return cmp.Or(cmp.Compare(a.user, b.user), cmp.Compare(a.path, b.path)) })
	return out
}

func (r *recorder) conflicts() []history.Conflict {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.lost)
}

// write records rec; a write error is kept by the writer and reported by
// its Flush at the end.
func (r *recorder) write(rec any) { _ = r.w.Write(rec) }

// head is the version home has committed for a file so far.
func (r *recorder) head(user, path string) int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.heads[fileKey{user, path}]
}

func (r *recorder) committedAt(user, path string, v int64) time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.commits[fileVersion{fileKey{user, path}, v}]
}

// Decided implements coordinator.Observer for every region's coordinator.
func (r *recorder) Decided(d coordinator.Decision) {
	at := time.Now()
	switch d.State {
	case coordinator.StateCommitted:
		r.mu.Lock()
		k := fileKey{d.User, d.Path}
		r.heads[k] = max(r.heads[k], d.Version)
		r.commits[fileVersion{k, d.Version}] = at
		r.mu.Unlock()
		r.write(history.Commit{T: history.KindCommit, ID: d.ID, User: d.User, Path: d.Path, Base: d.Base,
			Version: d.Version, SHA256: d.SHA256, Fence: d.Fence, At: at})
	case coordinator.StateConflict:
		c := history.Conflict{T: history.KindConflict, ID: d.ID, User: d.User, Path: d.Path, Base: d.Base,
			Head: d.Head, Copy: d.Copy, At: at}
		r.mu.Lock()
		r.lost = append(r.lost, c)
		r.mu.Unlock()
		r.write(c)
	case coordinator.StateRejected:
		r.write(history.Reject{T: history.KindReject, ID: d.ID, User: d.User, Path: d.Path, Reason: d.Reason, At: at})
	}
}

// replicated records one replicator outcome; home names the replicator's
// region.
func (r *recorder) replicated(home string, a region.Applied) {
	e := a.Event
	r.write(history.Replica{T: history.KindReplica, Region: a.Region, Home: home, User: e.User, Path: e.Path,
		Version: e.Version, SHA256: e.SHA256, Outcome: a.Outcome, Held: a.Held, Bytes: a.Bytes, Notified: a.Notified,
		Start: a.Start, At: a.At, Committed: r.committedAt(e.User, e.Path, e.Version), Error: a.Error})
}

// observer adapts recorder to region.Observer for one home region.
type observer struct {
	r    *recorder
	home string
}

func (o observer) Replicated(a region.Applied) { o.r.replicated(o.home, a) }
