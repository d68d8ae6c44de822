package checker

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/stormsim/stormsim/sim/history"
)

// checkOneWinner: for each (user, path, base) at most one upload commits.
func checkOneWinner(ix *index, o Options) Result {
	c := newCollector(NameOneWinner, o)
	for _, f := range ix.files {
		cs := slices.Clone(f.commits)
		slices.SortStableFunc(cs, func(a, b int) int {
			return cmp.Compare(ix.s.Commits[a].Base, ix.s.Commits[b].Base)
		})
		for i := 0; i < len(cs); {
			base := ix.s.Commits[cs[i]].Base
			var ids []string
			for ; i < len(cs) && ix.s.Commits[cs[i]].Base == base; i++ {
				if id := ix.s.Commits[cs[i]].ID; !slices.Contains(ids, id) {
					ids = append(ids, id)
				}
			}
			if len(ids) > 1 {
				c.add(ids, "%s base %d: %d winners %v", f.key, base, len(ids), ids)
			}
		}
	}
	return c.result(fmt.Sprintf("%d commits on %d files", len(ix.s.Commits), len(ix.files)))
}

// commitChain returns the commits of f, one per (id, version) (repeated
// records of one decision are idempotence's concern), ordered by version.
func commitChain(ix *index, f *file) []*history.Commit {
	type idVersion struct {
		id string
		v  int64
	}
	seen := make(map[idVersion]bool, len(f.commits))
	cs := make([]*history.Commit, 0, len(f.commits))
	for _, i := range f.commits {
		c := &ix.s.Commits[i]
		if k := (idVersion{c.ID, c.Version}); !seen[k] {
			seen[k] = true
			cs = append(cs, c)
		}
	}
	slices.SortStableFunc(cs, func(a, b *history.Commit) int { return cmp.Compare(a.Version, b.Version) })
	return cs
}

// checkNoLostUpdate: per file the commits are versions 1..n, each on the
// previous head, and S3 ends with the last one; a device told "committed"
// has the matching commit.
func checkNoLostUpdate(ix *index, o Options) Result {
	c := newCollector(NameNoLostUpdate, o)
	unfinished := 0
	for _, f := range ix.files {
		cs := commitChain(ix, f)
		var prev *history.Commit
		for _, cm := range cs {
			switch {
			case prev != nil && cm.Version == prev.Version:
				c.add([]string{prev.ID, cm.ID}, "%s: v%d committed twice (%s, %s)", f.key, cm.Version, prev.ID, cm.ID)
			case prev == nil && cm.Version != 1:
				c.add([]string{cm.ID}, "%s: first commit %s is v%d, want v1", f.key, cm.ID, cm.Version)
			case prev != nil && cm.Version != prev.Version+1:
				c.add([]string{prev.ID, cm.ID}, "%s: v%d (%s) follows v%d (%s): versions lost", f.key, cm.Version, cm.ID, prev.Version, prev.ID)
			}
			if cm.Base != cm.Version-1 {
				c.add([]string{cm.ID}, "%s: %s committed v%d on base %d", f.key, cm.ID, cm.Version, cm.Base)
			}
			if u := ix.uploadOf(cm.ID); u != nil && u.SHA256 != cm.SHA256 {
				c.add([]string{cm.ID}, "%s: %s committed sha256 %.12s, uploaded %.12s", f.key, cm.ID, cm.SHA256, u.SHA256)
			}
			prev = cm
		}
		switch {
		case f.unfinished:
			unfinished++ // events still in flight: the state read back is not final
		case prev != nil && f.final < 0:
			c.add([]string{prev.ID}, "%s: committed up to v%d (%s) but no final record", f.key, prev.Version, prev.ID)
		case prev != nil:
			fin := ix.s.Finals[f.final]
			if fin.Version != prev.Version || fin.Head != prev.Version || fin.SHA256 != prev.SHA256 {
				c.add([]string{prev.ID}, "%s: final v%d head %d sha256 %.12s, last commit %s v%d sha256 %.12s",
					f.key, fin.Version, fin.Head, fin.SHA256, prev.ID, prev.Version, prev.SHA256)
			}
		case f.final >= 0:
			if fin := ix.s.Finals[f.final]; fin.Version != 0 || fin.Head != 0 {
				c.add([]string{f.key.String()}, "%s: final v%d head %d without any commit", f.key, fin.Version, fin.Head)
			}
		}
	}
	for i := range ix.recs {
		r := &ix.recs[i]
		if r.upload < 0 || ix.s.Uploads[r.upload].Outcome != history.OutcomeCommitted {
			continue
		}
		u := &ix.s.Uploads[r.upload]
		found := false
		for _, d := range r.decisions {
			if d.kind == history.KindCommit && ix.s.Commits[d.i].Version == u.Version {
				found = true
				break
			}
		}
		if !found {
			c.add([]string{u.ID}, "%s: device was told committed v%d, no such commit", u.ID, u.Version)
		}
	}
	summary := fmt.Sprintf("%d files, %d finals", len(ix.files), len(ix.s.Finals))
	if unfinished > 0 {
		summary += fmt.Sprintf(" (%d files with events still in flight: final state not judged)", unfinished)
	}
	return c.result(summary)
}

// copyProof returns what is wrong with the conflicted copy of a conflict
// decision, or "" when the copy record read back after the drain shows the
// loser's bytes at the decided key.
func copyProof(ix *index, r *record, cf *history.Conflict) string {
	if cf.Copy == "" {
		return "conflict without a copy key"
	}
	var cp *history.Copy
	for _, i := range r.copies {
		if ix.s.Copies[i].Key == cf.Copy {
			cp = &ix.s.Copies[i]
			break
		}
	}
	switch {
	case cp == nil:
		return fmt.Sprintf("no copy record for %q (conflicted copy not read back)", cf.Copy)
	case !cp.Found:
		return fmt.Sprintf("conflicted copy %q not found", cf.Copy)
	}
	if r.upload >= 0 && ix.s.Uploads[r.upload].SHA256 != cp.SHA256 {
		return fmt.Sprintf("conflicted copy %q has sha256 %.12s, upload %.12s", cf.Copy, cp.SHA256, ix.s.Uploads[r.upload].SHA256)
	}
	return ""
}

// checkAgreement: per upload the device, the server's decision, every push
// and every answered poll name the same outcome. One violation per upload.
func checkAgreement(ix *index, o Options) Result {
	c := newCollector(NameAgreement, o)
	for i := range ix.recs {
		r := &ix.recs[i]
		if msg := disagreement(ix, r); msg != "" {
			c.add([]string{r.id}, "%s: %s", r.id, msg)
		}
	}
	return c.result(fmt.Sprintf("%d upload ids", len(ix.recs)))
}

// disagreement returns the first disagreement about one upload, or "".
func disagreement(ix *index, r *record) string {
	want, decided := ix.decided(r)
	for _, d := range r.decisions[min(1, len(r.decisions)):] {
		if a := ix.answerOf(d); !want.same(a) {
			return fmt.Sprintf("server decided %s and %s", want, a)
		}
	}
	switch {
	case r.upload < 0 && decided:
		return fmt.Sprintf("server decided %s, no upload record", want)
	case r.upload >= 0 && final(ix.s.Uploads[r.upload].Outcome):
		u := &ix.s.Uploads[r.upload]
		dev := answer{state: u.Outcome, version: u.Version, copy: u.Copy}
		if !decided {
			return fmt.Sprintf("device saw %s, server never decided", dev)
		}
		if !want.same(dev) {
			return fmt.Sprintf("device saw %s, server decided %s", dev, want)
		}
	}
	for _, i := range r.pushes {
		p := &ix.s.Pushes[i]
		got := answer{state: p.State, version: p.Version, copy: p.Copy}
		if !decided {
			return fmt.Sprintf("push said %s, server never decided", got)
		}
		if !sameStrict(want, got) {
			return fmt.Sprintf("push said %s, server decided %s", got, want)
		}
	}
	for _, i := range r.polls {
		p := &ix.s.Polls[i]
		if !final(p.State) {
			continue
		}
		got := answer{state: p.State, version: p.Version, copy: p.Copy}
		if !decided {
			return fmt.Sprintf("poll answered %s, server never decided", got)
		}
		if !sameStrict(want, got) {
			return fmt.Sprintf("poll answered %s, server decided %s", got, want)
		}
	}
	return ""
}

// sameStrict is answer.same where a push or poll must name the copy key.
func sameStrict(want, got answer) bool {
	if want.state == history.OutcomeConflict && got.state == want.state && got.copy != want.copy {
		return false
	}
	return want.same(got)
}

// checkIdempotence: one decision record and at most one push per upload.
func checkIdempotence(ix *index, o Options) Result {
	c := newCollector(NameIdempotence, o)
	for i := range ix.recs {
		r := &ix.recs[i]
		if n := len(r.decisions); n > 1 {
			c.add([]string{r.id}, "%s: %d decision records", r.id, n)
		}
		if n := len(r.pushes); n > 1 {
			c.add([]string{r.id}, "%s: %d pushes", r.id, n)
		}
	}
	return c.result(fmt.Sprintf("%d decisions, %d pushes",
		len(ix.s.Commits)+len(ix.s.Conflicts)+len(ix.s.Rejects), len(ix.s.Pushes)))
}

const timeFormat = "15:04:05.000000"

// checkScheduler: no event fires early, every event runs exactly once.
func checkScheduler(ix *index, o Options) Result {
	c := newCollector(NameScheduler, o)
	var early, missed, dups, fired, refused int
	var sum, worst float64
	for _, e := range ix.s.Scheds {
		switch {
		case e.Refused && e.Runs == 0:
			refused++ // never scheduled: its client saw the insert fail
		case e.Fired == nil || e.Runs == 0:
			missed++
			c.add([]string{e.ID}, "%s: due %s, never ran (runs %d)", e.ID, e.Due.Format(timeFormat), e.Runs)
		case e.Runs > 1:
			dups++
			c.add([]string{e.ID}, "%s: ran %d times", e.ID, e.Runs)
		}
		if e.Fired == nil {
			continue
		}
		fired++
		late := e.Fired.Sub(e.Due).Seconds()
		if late < 0 {
			early++
			c.add([]string{e.ID}, "%s: fired %s before due %s", e.ID, e.Fired.Format(timeFormat), e.Due.Format(timeFormat))
		}
		sum += late
		worst = max(worst, late)
	}
	mean := 0.0
	if fired > 0 {
		mean = sum / float64(fired)
	}
	detail := fmt.Sprintf("events %d, early %d, missed %d, duplicates %d, lateness mean %.3fs max %.3fs",
		len(ix.s.Scheds), early, missed, dups, mean, worst)
	if refused > 0 {
		detail += fmt.Sprintf(", %d inserts refused (never scheduled)", refused)
	}
	return c.result(detail)
}
