package checker

import (
	"strconv"

	"github.com/stormsim/stormsim/sim/history"
)

// fileKey names one file of one user.
type fileKey struct{ user, path string }

func (k fileKey) String() string { return k.user + "/" + k.path }

// decision points at one server decision record of s.
type decision struct {
	kind string // history.KindCommit, KindConflict or KindReject
	i    int    // index in the Set slice of that kind
}

// file gathers the records of one (user, path), as indexes into the Set.
type file struct {
	key       fileKey
	commits   []int
	conflicts []int
	final     int   // index in s.Finals, -1 when none
	fences    []int // fence records, in file order
	// unfinished is set when an event of an upload of this file was still
	// in flight (queued, running or waiting for a retry) when the run
	// ended: its state read back is not final (a commit may be half done,
	// its retry pending), so final-state checks skip it.
	unfinished bool
}

// record gathers what the history says about one upload id, as indexes
// into the Set, in file order.
type record struct {
	id        string
	upload    int // first upload record, -1 when none
	decisions []decision
	pushes    []int
	polls     []int
	copies    []int
	results   []int // result records read back after the drain
	pending   []int // pending records: its staged object outlived the drain
}

// index is built once per Check; every check reads it, none changes it.
// Each id is looked up once while building; the checks walk slices.
type index struct {
	s      *history.Set
	ids    map[string]int // id -> position in recs
	recs   []record       // uploads in file order, then ids only other records name
	files  []*file        // in order of first appearance: deterministic reports
	byFile map[fileKey]*file
	// stop is the earliest stop record (the harness stopping the run
	// before its planned end), nil when the run was not stopped.
	stop *history.Stop
}

func newIndex(s *history.Set) *index {
	ix := &index{
		s:      s,
		ids:    make(map[string]int, len(s.Uploads)),
		recs:   make([]record, 0, len(s.Uploads)),
		byFile: map[fileKey]*file{},
	}
	for i, u := range s.Uploads {
		if r := ix.rec(u.ID); r.upload < 0 {
			r.upload = i
		}
		ix.file(u.User, u.Path)
	}
	for i, c := range s.Commits {
		r := ix.rec(c.ID)
		r.decisions = append(r.decisions, decision{history.KindCommit, i})
		f := ix.file(c.User, c.Path)
		f.commits = append(f.commits, i)
	}
	for i, c := range s.Conflicts {
		r := ix.rec(c.ID)
		r.decisions = append(r.decisions, decision{history.KindConflict, i})
		f := ix.file(c.User, c.Path)
		f.conflicts = append(f.conflicts, i)
	}
	for i, fe := range s.Fences {
		f := ix.file(fe.User, fe.Path)
		f.fences = append(f.fences, i)
	}
	for i, c := range s.Rejects {
		r := ix.rec(c.ID)
		r.decisions = append(r.decisions, decision{history.KindReject, i})
	}
	for i, p := range s.Pushes {
		r := ix.rec(p.ID)
		r.pushes = append(r.pushes, i)
	}
	for i, p := range s.Polls {
		r := ix.rec(p.ID)
		r.polls = append(r.polls, i)
	}
	for i, c := range s.Copies {
		r := ix.rec(c.ID)
		r.copies = append(r.copies, i)
	}
	for i, rb := range s.Results {
		r := ix.rec(rb.ID)
		r.results = append(r.results, i)
	}
	for i, p := range s.Pendings {
		r := ix.rec(p.ID)
		r.pending = append(r.pending, i)
		if inFlight(p.Reason) && r.upload >= 0 {
			u := &s.Uploads[r.upload]
			ix.file(u.User, u.Path).unfinished = true
		}
	}
	for i, f := range s.Finals {
		ix.file(f.User, f.Path).final = i
	}
	for i := range s.Stops {
		if st := &s.Stops[i]; ix.stop == nil || st.At.Before(ix.stop.At) {
			ix.stop = st
		}
	}
	return ix
}

// cutByStop reports whether the harness's stop cut upload u off: it ended
// at or after the stop without learning an outcome (error or unknown).
func (ix *index) cutByStop(u *history.Upload) bool {
	return ix.stop != nil && !u.Done.Before(ix.stop.At) &&
		(u.Outcome == history.OutcomeError || u.Outcome == history.OutcomeUnknown)
}

// rec returns the record of id, adding it when new. The pointer is valid
// until the next call.
func (ix *index) rec(id string) *record {
	if i, ok := ix.ids[id]; ok {
		return &ix.recs[i]
	}
	ix.ids[id] = len(ix.recs)
	ix.recs = append(ix.recs, record{id: id, upload: -1})
	return &ix.recs[len(ix.recs)-1]
}

// uploadOf returns the upload record of id, or nil.
func (ix *index) uploadOf(id string) *history.Upload {
	if i, ok := ix.ids[id]; ok && ix.recs[i].upload >= 0 {
		return &ix.s.Uploads[ix.recs[i].upload]
	}
	return nil
}

func (ix *index) file(user, path string) *file {
	k := fileKey{user, path}
	if f, ok := ix.byFile[k]; ok {
		return f
	}
	f := &file{key: k, final: -1}
	ix.byFile[k] = f
	ix.files = append(ix.files, f)
	return f
}

// answer is an outcome as some party states it: the server's decision, a
// push, a poll or the device's record.
type answer struct {
	state   history.Outcome // committed, conflict or rejected
	version int64           // when committed
	copy    string          // when conflict
}

// same reports whether b states the same outcome as a. A conflict's copy key
// is compared only when both name one; the device record may omit it.
func (a answer) same(b answer) bool {
	if a.state != b.state {
		return false
	}
	switch a.state {
	case history.OutcomeCommitted:
		return a.version == b.version
	case history.OutcomeConflict:
		return a.copy == "" || b.copy == "" || a.copy == b.copy
	}
	return true
}

func (a answer) String() string {
	switch a.state {
	case history.OutcomeCommitted:
		return "committed v" + strconv.FormatInt(a.version, 10)
	case history.OutcomeConflict:
		return "conflict " + a.copy
	}
	return string(a.state)
}

// decided returns the server's first decision about r, as an answer.
func (ix *index) decided(r *record) (answer, bool) {
	if len(r.decisions) == 0 {
		return answer{}, false
	}
	return ix.answerOf(r.decisions[0]), true
}

func (ix *index) answerOf(d decision) answer {
	switch d.kind {
	case history.KindCommit:
		return answer{state: history.OutcomeCommitted, version: ix.s.Commits[d.i].Version}
	case history.KindConflict:
		return answer{state: history.OutcomeConflict, copy: ix.s.Conflicts[d.i].Copy}
	default:
		return answer{state: history.OutcomeRejected}
	}
}

// final reports whether state is an outcome (not pending, not an error).
func final(state history.Outcome) bool {
	switch state {
	case history.OutcomeCommitted, history.OutcomeConflict, history.OutcomeRejected:
		return true
	}
	return false
}

// isPending reports whether r was still undecided, its bytes staged, when
// the drain ended: a pending record and no decision.
func (ix *index) isPending(r *record) bool {
	return len(r.pending) > 0 && len(r.decisions) == 0
}

// inFlight reports whether a pending reason means the system was still
// working on the event (not given up on, not lost).
func inFlight(reason string) bool {
	switch reason {
	case history.PendingQueued, history.PendingRunning, history.PendingRetrying:
		return true
	}
	return false
}
