package checker

import (
	"container/heap"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/stormsim/stormsim/sim/history"
)

// genConfig shapes a generated history. The generator simulates a correct
// system: per file, decisions are serial, an upload wins iff its base is the
// head at its decision, and devices base their edits on the head they saw
// when they started (sometimes one version older).
type genConfig struct {
	seed         uint64
	uploads      int
	users        int
	filesPerUser int
	hotFiles     int     // files of user 0 that take hotShare of the uploads
	hotShare     float64 // fraction of uploads on the hot files
	span         time.Duration
	stale        float64 // probability that a device's base is one behind
	scheds       int
}

var genEpoch = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

type genUpload struct {
	u        history.Upload
	at       time.Time
	decision any
}

type byAt []*genUpload

func (h byAt) Len() int           { return len(h) }
func (h byAt) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h byAt) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *byAt) Push(x any)        { *h = append(*h, x.(*genUpload)) }
func (h *byAt) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

func hex64(r *rand.Rand) string {
	return fmt.Sprintf("%016x%016x%016x%016x", r.Uint64(), r.Uint64(), r.Uint64(), r.Uint64())
}

func dur(r *rand.Rand, floor, mean time.Duration) time.Duration {
	return floor + time.Duration(r.ExpFloat64()*float64(mean))
}

// generate returns a correct history in the order a run would write it:
// per upload its decision, push, polls, copy and upload record, then the
// finals and scheduled events.
func generate(cfg genConfig) *history.Set {
	r := rand.New(rand.NewPCG(cfg.seed, 0x5eed))
	byFile := map[fileKey][]*genUpload{}
	var order []fileKey
	for i := range cfg.uploads {
		user, path := r.IntN(cfg.users), r.IntN(cfg.filesPerUser)
		if cfg.hotFiles > 0 && r.Float64() < cfg.hotShare {
			user, path = 0, r.IntN(cfg.hotFiles)
		}
		k := fileKey{fmt.Sprintf("user%d", user), fmt.Sprintf("docs/f%d.txt", path)}
		start := genEpoch.Add(time.Duration(r.Int64N(int64(cfg.span))))
		staged := start.Add(dur(r, 2*time.Millisecond, 20*time.Millisecond))
		g := &genUpload{
			u: history.Upload{T: history.KindUpload, ID: fmt.Sprintf("up%07d", i), User: k.user,
				Device: fmt.Sprintf("dev%d", r.IntN(4)), Path: k.path, Size: 1 + r.Int64N(1<<20),
				SHA256: hex64(r), Intended: start.Add(-time.Millisecond), Start: start, Staged: staged},
			at: staged.Add(dur(r, time.Millisecond, 5*time.Millisecond)),
		}
		if _, ok := byFile[k]; !ok {
			order = append(order, k)
		}
		byFile[k] = append(byFile[k], g)
	}
	s := &history.Set{}
	for _, k := range order {
		simulateFile(r, cfg, s, k, byFile[k])
	}
	for i := range cfg.scheds {
		due := genEpoch.Add(time.Duration(i) * time.Second)
		fired := due.Add(dur(r, 0, 30*time.Second))
		s.Scheds = append(s.Scheds, history.Sched{T: history.KindSched, ID: fmt.Sprintf("ev%d", i), Due: due, Fired: &fired, Runs: 1})
	}
	return s
}

func simulateFile(r *rand.Rand, cfg genConfig, s *history.Set, k fileKey, ups []*genUpload) {
	slices.SortFunc(ups, func(a, b *genUpload) int { return a.u.Start.Compare(b.u.Start) })
	var head, fence int64
	var sha string
	pending := &byAt{}
	decide := func(g *genUpload) {
		fence++
		if g.u.Base == head {
			head++
			sha = g.u.SHA256
			g.decision = history.Commit{T: history.KindCommit, ID: g.u.ID, User: k.user, Path: k.path,
				Base: g.u.Base, Version: head, SHA256: sha, Fence: fence, At: g.at}
			g.u.Outcome, g.u.Version = history.OutcomeCommitted, head
		} else {
			cp := fmt.Sprintf("files/%s/%s (conflicted copy %s %s)", k.user, k.path, g.u.Device, g.u.ID)
			g.decision = history.Conflict{T: history.KindConflict, ID: g.u.ID, User: k.user, Path: k.path,
				Base: g.u.Base, Head: head, Copy: cp, At: g.at}
			g.u.Outcome, g.u.Copy = history.OutcomeConflict, cp
		}
		recordOutcome(r, s, g)
	}
	for _, g := range ups {
		for pending.Len() > 0 && (*pending)[0].at.Before(g.u.Start) {
			decide(heap.Pop(pending).(*genUpload))
		}
		g.u.Base = head
		if head > 0 && r.Float64() < cfg.stale {
			g.u.Base = head - 1
		}
		heap.Push(pending, g)
	}
	for pending.Len() > 0 {
		decide(heap.Pop(pending).(*genUpload))
	}
	s.Finals = append(s.Finals, history.Final{T: history.KindFinal, User: k.user, Path: k.path, Version: head, SHA256: sha, Head: head})
}

// recordOutcome writes the records that follow a decision: how the device learned
// it (push and/or polls) and, for a loser, the copy read back.
func recordOutcome(r *rand.Rand, s *history.Set, g *genUpload) {
	u := &g.u
	state := answer{state: u.Outcome, version: u.Version, copy: u.Copy}
	switch d := g.decision.(type) {
	case history.Commit:
		s.Commits = append(s.Commits, d)
	case history.Conflict:
		s.Conflicts = append(s.Conflicts, d)
		s.Copies = append(s.Copies, history.Copy{T: history.KindCopy, ID: u.ID, Key: d.Copy, SHA256: u.SHA256, Found: true})
	}
	pushAt := g.at.Add(dur(r, 100*time.Microsecond, time.Millisecond))
	if r.Float64() < 0.9 {
		s.Pushes = append(s.Pushes, history.Push{T: history.KindPush, ID: u.ID, User: u.User, At: pushAt,
			State: state.state, Version: state.version, Copy: state.copy})
	}
	if r.Float64() < 0.7 { // the push reached the device first
		u.Push, u.Done = true, pushAt.Add(dur(r, 0, time.Millisecond))
	} else {
		if r.Float64() < 0.5 {
			s.Polls = append(s.Polls, history.Poll{T: history.KindPoll, ID: u.ID, At: u.Staged.Add(time.Duration(r.Int64N(int64(g.at.Sub(u.Staged))))), State: history.OutcomePending})
			u.Polls++
		}
		u.Done = g.at.Add(dur(r, time.Millisecond, 10*time.Millisecond))
		s.Polls = append(s.Polls, history.Poll{T: history.KindPoll, ID: u.ID, At: u.Done, State: state.state, Version: state.version, Copy: state.copy})
		u.Polls++
	}
	s.Uploads = append(s.Uploads, *u)
}
