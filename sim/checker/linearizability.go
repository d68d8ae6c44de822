package checker

import (
	"cmp"
	"fmt"
	"hash/maphash"
	"math"
	"slices"
	"time"

	"github.com/anishathalye/porcupine"
)

// The linearizability check treats each file as a register of (version,
// sha256) and each decided upload as one operation on it:
//
//	commit(base) -> (version, sha256)  legal iff head.version == base and
//	                                   version == base+1; head := result
//	conflict(base) -> head             legal iff head.version != base
//	read() -> (version, sha256)        the final record, after everything
//
// The interval of an upload is [start, at]. The decision cannot precede the
// start of the staging PUT (no object, no event), but it can precede the
// moment the device saw the PUT return (staged): the notification fires once
// the object exists, and the handler may decide before the response reaches
// the device. So staged is not a sound lower bound; start is. The decision
// record's time at is a sound upper bound provided the recorder reads the
// clock after the atomic step (the fenced head write or the conditional
// PUT), which is its contract; it is tighter than done, and done is no bound
// at all for a device that gave up before the decision.
//
// Three reductions keep hot files tractable; all preserve the verdict
// exactly (TestLinearizability_ReductionsAgree checks this against plain
// porcupine):
//
//   - Every operation must be linearized and the head only grows by one per
//     commit, so the commits must be exactly v1..vn, each on the version
//     before, and the final read must name vn. A file that breaks this is
//     illegal without any search, and the commits involved are the example.
//   - A conflict on base b constrains only the two commits around version b:
//     the head is b from the commit that made v b until the commit on base b.
//     If the conflict's call precedes the call of the commit making v b, or
//     its return follows the return of the commit on base b, some point in
//     its interval is outside that window in every linearization, so it can
//     be inserted there into any linearization of the rest: drop it.
//   - What is left is split at quiescent points (no interval spans them).
//     Conflicts leave the head alone and commits chain, so a linearizable
//     segment always ends in the same state (version + its commits, the sha
//     of the commit that made that version): each segment is checked on its
//     own from that state, in parallel.
type linOp struct {
	id      string
	call    int64
	ret     int64
	commit  bool
	read    bool // the final record
	base    int64
	version int64 // commit: the version made; read: the final version
	sha     string
}

type linState struct {
	version int64
	sha     string
}

var linSeed = maphash.MakeSeed()

func linStep(st linState, op *linOp) (bool, linState) {
	switch {
	case op.read:
		return st.version == op.version && (op.version == 0 || st.sha == op.sha), st
	case op.commit:
		if st.version == op.base && op.version == op.base+1 {
			return true, linState{op.version, op.sha}
		}
		return false, st
	default:
		return st.version != op.base, st
	}
}

func linModel(init linState) porcupine.Model {
	return porcupine.Model{
		Init: func() any { return init },
		Step: func(state, input, _ any) (bool, any) {
			return linStep(state.(linState), input.(*linOp))
		},
		Hash: func(state any) uint64 {
			st := state.(linState)
			return maphash.String(linSeed, st.sha) ^ uint64(st.version)*0x9e3779b97f4a7c15
		},
		DescribeOperation: func(input, _ any) string {
			op := input.(*linOp)
			switch {
			case op.read:
				return fmt.Sprintf("read -> v%d", op.version)
			case op.commit:
				return fmt.Sprintf("%s commit(base %d) -> v%d", op.id, op.base, op.version)
			}
			return fmt.Sprintf("%s conflict(base %d)", op.id, op.base)
		},
	}
}

// linConfig switches the reductions; tests turn them off to compare with
// plain porcupine.
type linConfig struct{ chain, prune, split bool }

// segment is one independently checked piece of a file's history.
type segment struct {
	file   int // index in ix.files
	init   linState
	ops    []*linOp
	result porcupine.CheckResult
}

func checkLinearizability(ix *index, o Options) Result {
	return linearizability(ix, o, linConfig{chain: true, prune: true, split: true})
}

func linearizability(ix *index, o Options, cfg linConfig) Result {
	deadline := time.Now().Add(o.LinearizabilityTimeout)
	var segs []*segment
	var total, kept int
	broken := map[int]violation{}
	for fi, f := range ix.files {
		ops := fileOps(ix, f)
		if len(ops) == 0 {
			continue
		}
		total += len(ops)
		if cfg.chain {
			if ids, msg := brokenChain(ops); msg != "" {
				broken[fi] = violation{ids, msg}
				continue
			}
		}
		if cfg.prune {
			ops = prune(ops)
		}
		kept += len(ops)
		segs = append(segs, split(fi, ops, cfg.split)...)
	}
	// Small segments first, so one huge file cannot starve every other
	// file of the budget.
	slices.SortStableFunc(segs, func(a, b *segment) int { return cmp.Compare(len(a.ops), len(b.ops)) })
	runSegments(segs, deadline)

	c := newCollector(NameLinearizability, o)
	failed := map[int]*segment{} // per file, its earliest illegal segment
	unknown := map[int]bool{}
	largest := 0
	for _, s := range segs {
		largest = max(largest, len(s.ops))
		switch s.result {
		case porcupine.Illegal:
			if f := failed[s.file]; f == nil || s.ops[0].call < f.ops[0].call {
				failed[s.file] = s
			}
		case porcupine.Unknown:
			unknown[s.file] = true
		}
	}
	var undecided []string
	for fi, f := range ix.files { // file order: deterministic reports
		v, isBroken := broken[fi]
		switch s := failed[fi]; {
		case isBroken:
			c.add(v.ids, "%s: %s", f.key, v.msg)
		case s != nil:
			// An illegal segment condemns the file even when an earlier
			// one is undecided: either that one is illegal too, or it is
			// legal and so ends in the state this one started from.
			var ids []string
			for _, op := range s.ops {
				if !op.read {
					ids = append(ids, op.id)
				}
			}
			if len(ids) == 0 { // the final read alone; only without the chain check
				ids = []string{f.key.String()}
			}
			c.add(ids, "%s: no order of %d decisions from %s to %s fits their times",
				f.key, len(s.ops), time.Unix(0, s.ops[0].call).UTC().Format(timeFormat),
				time.Unix(0, s.ops[len(s.ops)-1].ret).UTC().Format(timeFormat))
		case unknown[fi]:
			undecided = append(undecided, f.key.String())
		}
	}
	r := c.result(fmt.Sprintf("%d files, %d decisions, %d left after pruning, in %d segments (largest %d)",
		len(ix.files), total, kept, len(segs), largest))
	if len(undecided) > 0 {
		r.Inconclusive = true
		r.OK = false
		r.Detail += fmt.Sprintf("; %d file(s) undecided within %s: %v", len(undecided), o.LinearizabilityTimeout,
			undecided[:min(len(undecided), maxDetails)])
	}
	return r
}

// fileOps builds the operations of one file, ordered by call.
func fileOps(ix *index, f *file) []*linOp {
	ops := make([]*linOp, 0, len(f.commits)+len(f.conflicts)+1)
	seen := make(map[string]bool, cap(ops))
	var orphans []*linOp // decisions without an upload record: call unknown
	add := func(id string, at time.Time, op *linOp) {
		if seen[id] {
			return // a repeated decision: idempotence reports it
		}
		seen[id] = true
		op.id = id
		op.ret = at.UnixNano()
		op.call = math.MinInt64
		if u := ix.uploadOf(id); u != nil {
			switch {
			case !u.Start.IsZero():
				op.call = u.Start.UnixNano()
			case !u.Staged.IsZero():
				op.call = u.Staged.UnixNano()
			}
		}
		if op.call == math.MinInt64 {
			orphans = append(orphans, op)
		}
		op.call = min(op.call, op.ret)
		ops = append(ops, op)
	}
	for _, i := range f.commits {
		c := &ix.s.Commits[i]
		add(c.ID, c.At, &linOp{commit: true, base: c.Base, version: c.Version, sha: c.SHA256})
	}
	for _, i := range f.conflicts {
		c := &ix.s.Conflicts[i]
		add(c.ID, c.At, &linOp{base: c.Base})
	}
	if len(ops) == 0 && f.final < 0 {
		return nil
	}
	// An orphan may have started any time: give it the earliest instant of
	// the file, as wide as any bound we could know.
	first, last := int64(math.MaxInt64), int64(math.MinInt64)
	for _, op := range ops {
		first = min(first, op.ret)
		if op.call != math.MinInt64 {
			first = min(first, op.call)
		}
		last = max(last, op.ret)
	}
	for _, op := range orphans {
		op.call = first
	}
	if f.final >= 0 && !f.unfinished { // an unfinished file's state read back is not final
		fin := ix.s.Finals[f.final]
		at := int64(0)
		if len(ops) > 0 {
			at = last + 1
		}
		ops = append(ops, &linOp{id: "final " + f.key.String(), read: true, call: at, ret: at, version: fin.Version, sha: fin.SHA256})
	}
	slices.SortStableFunc(ops, func(a, b *linOp) int {
		return cmp.Or(cmp.Compare(a.call, b.call), cmp.Compare(a.ret, b.ret))
	})
	return ops
}

type violation struct {
	ids []string
	msg string
}

// brokenChain reports why the commits of a file (ops ordered by call)
// cannot all be linearized, whatever their times: they are not v1..vn each
// on the version before, or the final read does not name vn.
func brokenChain(ops []*linOp) (ids []string, msg string) {
	var commits []*linOp
	var read *linOp
	for _, op := range ops {
		switch {
		case op.commit:
			commits = append(commits, op)
		case op.read:
			read = op
		}
	}
	slices.SortStableFunc(commits, func(a, b *linOp) int { return cmp.Compare(a.version, b.version) })
	var last *linOp
	for i, op := range commits {
		switch want := int64(i + 1); {
		case op.version != op.base+1:
			return []string{op.id}, fmt.Sprintf("%s made v%d on base %d", op.id, op.version, op.base)
		case last != nil && op.version == last.version:
			return []string{last.id, op.id}, fmt.Sprintf("v%d made twice (%s, %s)", op.version, last.id, op.id)
		case op.version != want:
			return []string{op.id}, fmt.Sprintf("%s made v%d, but no commit made v%d", op.id, op.version, want)
		}
		last = op
	}
	if read == nil {
		return nil, ""
	}
	if last == nil {
		if read.version != 0 {
			return []string{read.id}, fmt.Sprintf("final v%d without any commit", read.version)
		}
		return nil, ""
	}
	if ok, _ := linStep(linState{last.version, last.sha}, read); !ok {
		return []string{last.id}, fmt.Sprintf("final v%d sha256 %.12s, last commit %s made v%d sha256 %.12s",
			read.version, read.sha, last.id, last.version, last.sha)
	}
	return nil, ""
}
