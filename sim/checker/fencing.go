package checker

import (
	"fmt"
	"maps"
	"slices"
	"sort"

	"github.com/stormsim/stormsim/sim/history"
)

// FaultFenceRollback is the fault kind (sim's redis-fence-rollback) that
// makes fencing tokens repeat on purpose.
const FaultFenceRollback = "redis-fence-rollback"

// checkFencing: per file, commits ordered by version carry strictly
// increasing fencing tokens; a stale holder's commit shows a token not
// above its predecessor's. With fence records (tokens as issued), also: no
// commit is made after a higher token of its file was issued, which shows
// a stale holder's commit even when no other commit followed it. A fence
// record's time is read after its issue and a commit's before its fenced
// write, so a fenced commit is never wrongly accused.
func checkFencing(ix *index, o Options) Result {
	c := newCollector(NameFencing, o)
	for _, f := range ix.s.Faults {
		if f.Kind == FaultFenceRollback {
			// The run itself took fencing counters back (a failover that
			// lost increments): tokens repeat by design, so their order
			// says nothing about the coordinator.
			return c.result("not judged: the run injected " + FaultFenceRollback)
		}
	}
	for _, f := range ix.files {
		chainOrder(commitChain(ix, f), f.key, c)
		sameVersion(ix, f, c)
		staleCommits(ix, f, c)
	}
	detail := fmt.Sprintf("%d commits", len(ix.s.Commits))
	if len(ix.s.Fences) > 0 {
		detail += fmt.Sprintf(", %d fences issued", len(ix.s.Fences))
	}
	return c.result(detail)
}

// chainOrder reports each commit whose token is not above the highest
// token among the commits of the version before it. Comparing with the
// highest (not with whichever duplicate the history listed last) keeps the
// verdict independent of record order when a version was committed twice;
// sameVersion reports the duplicate itself.
func chainOrder(cs []*history.Commit, key fileKey, c *collector) {
	var prev *history.Commit // the highest-token commit of the previous version
	for i := 0; i < len(cs); {
		j := i
		for j < len(cs) && cs[j].Version == cs[i].Version {
			j++
		}
		if prev != nil {
			for _, cm := range cs[i:j] {
				if cm.Fence <= prev.Fence {
					c.add([]string{cm.ID, prev.ID}, "%s: v%d (%s) fence %d, v%d (%s) fence %d",
						key, cm.Version, cm.ID, cm.Fence, prev.Version, prev.ID, prev.Fence)
				}
			}
		}
		prev = cs[i]
		for _, cm := range cs[i+1 : j] {
			if cm.Fence > prev.Fence {
				prev = cm
			}
		}
		i = j
	}
}

// staleCommits reports f's commits made after a higher token of f was
// issued: fences sorted by time with a running maximum, then one search
// per commit.
func staleCommits(ix *index, f *file, c *collector) {
	if len(f.fences) == 0 {
		return
	}
	fs := slices.Clone(f.fences)
	slices.SortStableFunc(fs, func(a, b int) int { return ix.s.Fences[a].At.Compare(ix.s.Fences[b].At) })
	top := make([]int, len(fs)) // top[i]: the fence record with the highest token among fs[:i+1]
	for i, fi := range fs {
		top[i] = fi
		if i > 0 && ix.s.Fences[top[i-1]].Fence >= ix.s.Fences[fi].Fence {
			top[i] = top[i-1]
		}
	}
	for _, ci := range f.commits {
		cm := &ix.s.Commits[ci]
		n := sort.Search(len(fs), func(i int) bool { return !ix.s.Fences[fs[i]].At.Before(cm.At) })
		if n == 0 {
			continue
		}
		if fe := &ix.s.Fences[top[n-1]]; fe.Fence > cm.Fence {
			c.add([]string{cm.ID, fe.ID}, "%s: v%d (%s) committed at %s under fence %d, after fence %d was issued to %s at %s",
				f.key, cm.Version, cm.ID, cm.At.Format(timeFormat), cm.Fence, fe.Fence, fe.ID, fe.At.Format(timeFormat))
		}
	}
}

// sameVersion reports, for each version of f committed more than once,
// every commit under a lower token than the highest among them. Under
// fencing this cannot happen: the later holder's lock script reads the head
// after the earlier commit (then it commits the next version) or moves the
// fence before it (then the earlier commit is refused). So the lower token
// was stale when it committed, whatever the clocks of the records say
// (one-winner reports the same pair as two winners).
func sameVersion(ix *index, f *file, c *collector) {
	byVersion := map[int64][]int{}
	for _, ci := range f.commits {
		v := ix.s.Commits[ci].Version
		byVersion[v] = append(byVersion[v], ci)
	}
	for _, v := range slices.Sorted(maps.Keys(byVersion)) {
		cs := byVersion[v]
		if len(cs) < 2 {
			continue
		}
		hi := cs[0]
		for _, ci := range cs[1:] {
			if ix.s.Commits[ci].Fence > ix.s.Commits[hi].Fence {
				hi = ci
			}
		}
		for _, ci := range cs {
			if cm, top := &ix.s.Commits[ci], &ix.s.Commits[hi]; cm.Fence < top.Fence {
				c.add([]string{cm.ID, top.ID}, "%s: v%d committed twice, by %s under fence %d and by %s under fence %d: the lower token was stale",
					f.key, v, cm.ID, cm.Fence, top.ID, top.Fence)
			}
		}
	}
}
