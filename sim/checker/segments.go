package checker

import (
	"runtime"
	"sync"
	"time"

	"github.com/anishathalye/porcupine"
)

// prune drops the conflicts that are legal in every linearization of the
// rest (see the comment on linOp). It keeps everything when the commits do
// not form a chain: that history fails on the commits alone.
func prune(ops []*linOp) []*linOp {
	byVersion := map[int64]*linOp{}
	byBase := map[int64]*linOp{}
	for _, op := range ops {
		if !op.commit {
			continue
		}
		if byVersion[op.version] != nil || byBase[op.base] != nil {
			return ops
		}
		byVersion[op.version] = op
		byBase[op.base] = op
	}
	kept := ops[:0:0]
	for _, op := range ops {
		if op.commit || op.read || !removable(op, byVersion, byBase) {
			kept = append(kept, op)
		}
	}
	return kept
}

func removable(x *linOp, byVersion, byBase map[int64]*linOp) bool {
	const v0 = 0 // every file starts without a version
	b := x.base
	if b < v0 {
		return true // the head never is b
	}
	if b > v0 {
		made := byVersion[b]
		if made == nil || x.call < made.call {
			return true // legal at its call: the head is still below b
		}
	}
	next := byBase[b]
	return next != nil && x.ret > next.ret // legal at its return: the head is past b
}

// split cuts a file's ops (ordered by call) at quiescent points and gives
// each piece the state the previous ones must end in.
func split(fi int, ops []*linOp, enabled bool) []*segment {
	var segs []*segment
	var cur *segment
	var reach int64
	st := linState{}
	for _, op := range ops {
		if cur == nil || (enabled && op.call > reach) {
			if cur != nil {
				st = endState(st, cur.ops)
			}
			cur = &segment{file: fi, init: st}
			segs = append(segs, cur)
			reach = op.ret
		}
		cur.ops = append(cur.ops, op)
		reach = max(reach, op.ret)
	}
	return segs
}

// endState is the state every linearization of ops from st ends in, if
// there is one.
func endState(st linState, ops []*linOp) linState {
	n := int64(0)
	for _, op := range ops {
		if op.commit {
			n++
		}
	}
	if n == 0 {
		return st
	}
	end := linState{version: st.version + n}
	for _, op := range ops {
		if op.commit && op.version == end.version {
			end.sha = op.sha
		}
	}
	return end
}

// runSegments checks every segment within the shared deadline, on all CPUs.
func runSegments(segs []*segment, deadline time.Time) {
	work := make(chan *segment)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for s := range work {
				s.result = checkSegment(s, deadline)
			}
		})
	}
	for _, s := range segs {
		work <- s
	}
	close(work)
	wg.Wait()
}

func checkSegment(s *segment, deadline time.Time) porcupine.CheckResult {
	if len(s.ops) == 1 { // the common case after pruning: no search needed
		if ok, _ := linStep(s.init, s.ops[0]); !ok {
			return porcupine.Illegal
		}
		return porcupine.Ok
	}
	left := time.Until(deadline)
	if left <= 0 {
		return porcupine.Unknown // porcupine reads 0 as "no limit"
	}
	hist := make([]porcupine.Operation, len(s.ops))
	for i, op := range s.ops {
		hist[i] = porcupine.Operation{Input: op, Call: op.call, Return: op.ret}
	}
	return porcupine.CheckOperationsTimeout(linModel(s.init), hist, left)
}
