package checker

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/stormsim/stormsim/sim/history"
)

// Names of the multi-region checks (docs/design.md, "Regions").
const (
	NameConvergence           = "convergence"
	NameNoRegression          = "no-regression"
	NameNoPhantom             = "no-phantom"
	NameReplicationIdempotent = "replication-idempotent"
	NameNotified              = "notified"
)

// hasRegions reports whether s is a multi-region history.
func hasRegions(s *history.Set) bool {
	return len(s.RegionFinals) > 0 || len(s.Replicas) > 0 || len(s.Views) > 0
}

// regionChecks runs the multi-region invariants.
func regionChecks(ix *index, o Options) []Result {
	return []Result{
		checkConvergence(ix, o),
		checkNoRegression(ix, o),
		checkNoPhantom(ix, o),
		checkReplicationIdempotent(ix, o),
		checkNotified(ix, o),
	}
}

// head returns the last committed version of a file and its SHA-256
// (0, "" when nothing was committed).
func head(ix *index, k fileKey) (int64, string) {
	f := ix.byFile[k]
	if f == nil || len(f.commits) == 0 {
		return 0, ""
	}
	cs := commitChain(ix, f)
	last := cs[len(cs)-1]
	return last.Version, last.SHA256
}

// checkConvergence: after the drain, every region's object of every file
// read back is the home region's last committed version, byte for byte (the
// SHA-256 of the bytes each region's storage returned), and every region
// was read back for every file.
func checkConvergence(ix *index, o Options) Result {
	c := newCollector(NameConvergence, o)
	regions := map[string]bool{}
	byFile := map[fileKey]map[string]*history.RegionFinal{}
	var order []fileKey
	for i := range ix.s.RegionFinals {
		rf := &ix.s.RegionFinals[i]
		regions[rf.Region] = true
		k := fileKey{rf.User, rf.Path}
		if byFile[k] == nil {
			byFile[k] = map[string]*history.RegionFinal{}
			order = append(order, k)
		}
		byFile[k][rf.Region] = rf
	}
	for _, f := range ix.files {
		if len(f.commits) > 0 && byFile[f.key] == nil {
			byFile[f.key] = map[string]*history.RegionFinal{}
			order = append(order, f.key)
		}
	}
	names := slices.Sorted(func(yield func(string) bool) {
		for r := range regions {
			if !yield(r) {
				return
			}
		}
	})
	for _, k := range order {
		v, sha := head(ix, k)
		for _, r := range names {
			rf := byFile[k][r]
			switch {
			case rf == nil:
				c.add([]string{k.String()}, "%s: region %s not read back", k, r)
			case v == 0 && rf.Found:
				c.add([]string{k.String()}, "%s: region %s holds v%d, nothing was committed", k, r, rf.Version)
			case v > 0 && !rf.Found:
				c.add([]string{k.String()}, "%s: region %s holds nothing, home head v%d", k, r, v)
			case v > 0 && (rf.Version != v || rf.SHA256 != sha):
				c.add([]string{k.String()}, "%s: region %s holds v%d sha256 %.12s, home head v%d sha256 %.12s",
					k, r, rf.Version, rf.SHA256, v, sha)
			}
		}
	}
	return c.result(fmt.Sprintf("%d files in %d regions", len(order), len(names)))
}

// shown is one moment a region showed a version: visible by At, not
// before Start.
type shown struct {
	version   int64
	start, at time.Time
	what      string
	bound     bool // a notification: it bounds what follows, is not checked itself
}

// checkNoRegression: no region shows a version older than one it had
// already shown. A region shows a version by applying it and by serving
// it to a device's read; a version shown by one that ended before another
// began must not be newer than what the other shows (overlapping ones are
// concurrent and may be seen in either order). A notification received
// in a region says "v is here": every read or write there that begins
// after it must show v or newer. It only bounds what follows: the
// notification itself may arrive after a newer version was applied (it
// was in flight), which tells devices nothing false.
func checkNoRegression(ix *index, o Options) Result {
	c := newCollector(NameNoRegression, o)
	type key struct{ region, user, path string }
	var keys []key
	by := map[key][]shown{}
	add := func(k key, s shown) {
		if _, ok := by[k]; !ok {
			keys = append(keys, k)
		}
		by[k] = append(by[k], s)
	}
	for _, r := range ix.s.Replicas {
		if r.Outcome == history.ReplicaApplied {
			add(key{r.Region, r.User, r.Path}, shown{version: r.Version, start: r.Start, at: r.At, what: "applied"})
		}
	}
	for _, v := range ix.s.Views {
		add(key{v.Region, v.User, v.Path}, shown{version: v.Version, start: v.Start, at: v.At, what: "read by " + v.Device})
	}
	for _, nt := range ix.s.Notifies {
		add(key{nt.Region, nt.User, nt.Path}, shown{version: nt.Version, start: nt.At, at: nt.At, what: "notified", bound: true})
	}
	n := 0
	for _, k := range keys {
		ss := by[k]
		n += len(ss)
		byStart := slices.SortedFunc(slices.Values(ss), func(a, b shown) int { return a.start.Compare(b.start) })
		byAt := slices.SortedFunc(slices.Values(ss), func(a, b shown) int { return a.at.Compare(b.at) })
		var best *shown // the newest version shown by something already finished
		j := 0
		for i := range byStart {
			s := &byStart[i]
			for ; j < len(byAt) && byAt[j].at.Before(s.start); j++ {
				if best == nil || byAt[j].version > best.version {
					best = &byAt[j]
				}
			}
			if best != nil && !s.bound && s.version < best.version {
				id := k.user + "/" + k.path + "@" + k.region
				c.add([]string{id}, "%s in %s: v%d %s at %s after v%d %s by %s",
					k.user+"/"+k.path, k.region, s.version, s.what, s.start.Format(time.RFC3339Nano),
					best.version, best.what, best.at.Format(time.RFC3339Nano))
			}
		}
	}
	return c.result(fmt.Sprintf("%d versions shown in %d (region, file) pairs", n, len(keys)))
}

// checkNoPhantom: every version any region held or showed was committed at
// home, with the same bytes.
func checkNoPhantom(ix *index, o Options) Result {
	c := newCollector(NameNoPhantom, o)
	committed := map[fileKey]map[int64]string{}
	for _, cm := range ix.s.Commits {
		k := fileKey{cm.User, cm.Path}
		if committed[k] == nil {
			committed[k] = map[int64]string{}
		}
		committed[k][cm.Version] = cm.SHA256
	}
	n := 0
	check := func(what, region, user, path string, v int64, sha string) {
		if v == 0 {
			return
		}
		n++
		k := fileKey{user, path}
		want, ok := committed[k][v]
		switch {
		case !ok:
			c.add([]string{k.String()}, "%s: %s in %s names v%d, never committed", k, what, region, v)
		case sha != "" && sha != want:
			c.add([]string{k.String()}, "%s: %s in %s has v%d sha256 %.12s, committed %.12s", k, what, region, v, sha, want)
		}
	}
	for _, r := range ix.s.Replicas {
		if r.Outcome == history.ReplicaApplied {
			check("replica", r.Region, r.User, r.Path, r.Version, r.SHA256)
		}
	}
	for _, v := range ix.s.Views {
		check("read by "+v.Device, v.Region, v.User, v.Path, v.Version, v.SHA256)
	}
	for _, rf := range ix.s.RegionFinals {
		if rf.Found {
			check("object read back", rf.Region, rf.User, rf.Path, rf.Version, rf.SHA256)
		}
	}
	for _, nt := range ix.s.Notifies {
		check("notification", nt.Region, nt.User, nt.Path, nt.Version, "")
	}
	return c.result(fmt.Sprintf("%d versions seen outside the commit records", n))
}

// checkReplicationIdempotent: duplicated and reordered events change
// nothing: each version is applied to a region at most once, only over an
// older one, and its devices are notified at most once.
func checkReplicationIdempotent(ix *index, o Options) Result {
	c := newCollector(NameReplicationIdempotent, o)
	type key struct {
		region, user, path string
		version            int64
	}
	applied := map[key]int{}
	notified := map[key]int{}
	var order []key
	for _, r := range ix.s.Replicas {
		if r.Outcome != history.ReplicaApplied {
			continue
		}
		k := key{r.Region, r.User, r.Path, r.Version}
		if applied[k] == 0 {
			order = append(order, k)
		}
		applied[k]++
		if r.Held >= r.Version {
			c.add([]string{r.User + "/" + r.Path + "@" + r.Region},
				"%s/%s in %s: v%d applied over v%d", r.User, r.Path, r.Region, r.Version, r.Held)
		}
	}
	var notes []key
	for _, nt := range ix.s.Notifies {
		k := key{nt.Region, nt.User, nt.Path, nt.Version}
		if notified[k] == 0 {
			notes = append(notes, k)
		}
		notified[k]++
	}
	slices.SortStableFunc(order, func(a, b key) int {
		return cmp.Or(cmp.Compare(a.region, b.region), cmp.Compare(a.user, b.user), cmp.Compare(a.path, b.path), cmp.Compare(a.version, b.version))
	})
	for _, k := range order {
		if n := applied[k]; n > 1 {
			c.add([]string{k.user + "/" + k.path + "@" + k.region}, "%s/%s in %s: v%d applied %d times", k.user, k.path, k.region, k.version, n)
		}
	}
	for _, k := range notes {
		if n := notified[k]; n > 1 {
			c.add([]string{k.user + "/" + k.path + "@" + k.region}, "%s/%s in %s: v%d notified %d times", k.user, k.path, k.region, k.version, n)
		}
	}
	return c.result(fmt.Sprintf("%d versions applied, %d notifications", len(order), len(ix.s.Notifies)))
}

// checkNotified: every version applied to a region was announced to the
// devices connected there (a notification received in that region),
// unless the replicator recorded its notification failing (an error on
// the applied replica: that region's Redis was down or cut off).
func checkNotified(ix *index, o Options) Result {
	c := newCollector(NameNotified, o)
	type key struct {
		region, user, path string
		version            int64
	}
	got := map[key]bool{}
	for _, nt := range ix.s.Notifies {
		got[key{nt.Region, nt.User, nt.Path, nt.Version}] = true
	}
	applied, reported := 0, 0
	for _, r := range ix.s.Replicas {
		if r.Outcome != history.ReplicaApplied {
			continue
		}
		applied++
		switch {
		case got[key{r.Region, r.User, r.Path, r.Version}]:
		case r.Error != "":
			reported++
		default:
			c.add([]string{r.User + "/" + r.Path + "@" + r.Region}, "%s/%s in %s: v%d applied at %s, its devices never notified",
				r.User, r.Path, r.Region, r.Version, r.At.Format(time.RFC3339Nano))
		}
	}
	return c.result(fmt.Sprintf("%d versions applied, %d notifications failed and reported", applied, reported))
}
