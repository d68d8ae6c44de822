package checker

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/stormsim/stormsim/billing"
	"github.com/stormsim/stormsim/coordinator"
	"github.com/stormsim/stormsim/sim/history"
)

// NameBilling is the billing invariant's name in results.json.
const NameBilling = "billing"

// Billing is what the billing check found, for the gate metrics
// billing.mismatched_users and billing.double_counted and for the invoice.
type Billing struct {
	// Users counts users whose storage was read back; Judged those whose
	// bill was judged (no event of theirs still in flight, storage read).
	Users, Judged int
	// MismatchedUsers: users whose metered bytes differ from the bytes
	// listed in S3.
	MismatchedUsers int
	// DoubleCounted: usage events beyond the first for one decision.
	DoubleCounted int
	// Lost: decisions (a commit, a conflicted copy) without a usage event;
	// Phantom: usage events without a decision.
	Lost, Phantom int
	// Bills are the consumer's bills (billing.Ledger over the usage
	// records), one per user read back, over [From, To].
	Bills    []billing.Bill
	From, To time.Time
}

// checkBilling: for every user read back after the drain, the meter
// equals the bytes listed in S3; every commit and conflicted copy of the
// history was metered exactly once, with the delta its size implies (a
// commit replaces the previous version's bytes and, when versions are
// kept, stores its own twice); no event was metered without a decision;
// and the byte-seconds the consumer integrates from the events equal
// those of the decisions at their own times. A user with an event still in
// flight when the drain ended is not judged (its copies may not be made
// yet); nor are the events of a user whose stream was trimmed.
func checkBilling(ix *index, o Options) (Result, *Billing) {
	c := newCollector(NameBilling, o)
	s := ix.s
	b := &Billing{}
	byUser := map[string][]*history.Usage{}
	seenEntry := map[string]bool{}
	for i := range s.Usages {
		u := &s.Usages[i]
		if k := u.User + " " + u.Entry; !seenEntry[k] {
			seenEntry[k] = true
			byUser[u.User] = append(byUser[u.User], u)
		}
	}
	files := map[string][]*file{}
	for _, f := range ix.files {
		files[f.key.user] = append(files[f.key.user], f)
	}
	ledger := billing.NewLedger()
	for _, st := range s.Storages {
		b.Users++
		if b.To.IsZero() || st.At.After(b.To) {
			b.To = st.At
		}
		evs := byUser[st.User]
		slices.SortStableFunc(evs, func(a, b *history.Usage) int { return cmp.Compare(a.Seq, b.Seq) })
		for _, e := range evs {
			ledger.Add(coordinator.UsageEvent{ID: e.Entry, Upload: e.ID, User: e.User, Path: e.Path, Kind: e.Kind,
				Version: e.Version, Delta: e.Delta, Bytes: e.Bytes, Seq: e.Seq, At: e.At})
			if b.From.IsZero() || e.At.Before(b.From) {
				b.From = e.At
			}
		}
		if st.Error != "" || slices.ContainsFunc(files[st.User], func(f *file) bool { return f.unfinished }) {
			continue
		}
		b.Judged++
		if st.Metered != st.Stored {
			b.MismatchedUsers++
			c.add([]string{st.User}, "%s: metered %d bytes, %d stored in %d objects", st.User, st.Metered, st.Stored, st.Objects)
		}
		judgeUsage(ix, c, b, st, evs, files[st.User])
	}
	if b.From.IsZero() {
		b.From = b.To
	}
	b.Bills = ledger.Bills(b.From, b.To)
	return c.result(fmt.Sprintf("%d users read back, %d judged; %d usage events", b.Users, b.Judged, len(seenEntry))), b
}

// expected is one decision's usage as the history implies it.
type expected struct {
	id, kind string
	delta    int64 // unknownSize when a size is unknown
	at       time.Time
}

const unknownSize = math.MinInt64

// decisionsOf lists the metered decisions of a user's files: each commit
// (in version order per file) and each conflicted copy, once per upload.
func decisionsOf(ix *index, fs []*file, keepsVersions bool) []expected {
	size := func(id string) int64 {
		if u := ix.uploadOf(id); u != nil {
			return u.Size
		}
		return unknownSize
	}
	var out []expected
	for _, f := range fs {
		prev := int64(0)
		for _, cm := range commitChain(ix, f) {
			n := size(cm.ID)
			d := int64(unknownSize)
			if n != unknownSize && prev != unknownSize {
				d = n - prev
				if keepsVersions {
					d += n
				}
			}
			out = append(out, expected{id: cm.ID, kind: coordinator.UsageCommit, delta: d, at: cm.At})
			prev = n
		}
		seen := map[string]bool{}
		for _, i := range f.conflicts {
			cf := &ix.s.Conflicts[i]
			if !seen[cf.ID] {
				seen[cf.ID] = true
				out = append(out, expected{id: cf.ID, kind: coordinator.UsageCopy, delta: size(cf.ID), at: cf.At})
			}
		}
	}
	return out
}

// judgeUsage matches one judged user's usage events with the history's
// decisions and compares the byte-seconds of both.
func judgeUsage(ix *index, c *collector, b *Billing, st history.Storage, evs []*history.Usage, fs []*file) {
	trimmed := len(evs) > 0 && evs[0].Seq > 1
	got := map[string]*history.Usage{}
	for _, e := range evs {
		k := e.Kind + "/" + e.ID
		if got[k] != nil {
			b.DoubleCounted++
			c.add([]string{e.ID}, "%s: %s of %s metered again (entry %s, delta %d)", st.User, e.Kind, e.ID, e.Entry, e.Delta)
			continue
		}
		got[k] = e
	}
	want := decisionsOf(ix, fs, st.KeepsVersions)
	matched := map[string]bool{}
	judgeTime := !trimmed
	var fromDecisions []billing.Step
	var allowance float64
	var bytes int64
	slices.SortStableFunc(want, func(a, b expected) int { return a.at.Compare(b.at) })
	for _, w := range want {
		k := w.kind + "/" + w.id
		e := got[k]
		matched[k] = true
		if w.delta == unknownSize {
			judgeTime = false
		} else {
			bytes += w.delta
			fromDecisions = append(fromDecisions, billing.Step{At: w.at, Bytes: bytes})
		}
		switch {
		case e == nil && !trimmed:
			b.Lost++
			c.add([]string{w.id}, "%s: %s of %s never metered", st.User, w.kind, w.id)
		case e == nil:
		case w.delta != unknownSize && e.Delta != w.delta:
			c.add([]string{w.id}, "%s: %s of %s metered %d bytes, its sizes imply %d", st.User, w.kind, w.id, e.Delta, w.delta)
		case w.kind == coordinator.UsageCommit && !e.At.Equal(w.at),
			w.kind == coordinator.UsageCopy && e.At.After(w.at):
			c.add([]string{w.id}, "%s: %s of %s metered at %s, decided at %s", st.User, w.kind, w.id,
				e.At.Format(time.RFC3339Nano), w.at.Format(time.RFC3339Nano))
		default:
			// A copy is metered when its name is reserved, just before
			// the copy is made and the conflict becomes durable.
			allowance += math.Abs(float64(w.delta)) * w.at.Sub(e.At).Seconds()
		}
	}
	for k, e := range got {
		if !matched[k] {
			b.Phantom++
			c.add([]string{e.ID}, "%s: %s of %s metered (%d bytes) without such a decision", st.User, e.Kind, e.ID, e.Delta)
		}
	}
	if !judgeTime || len(evs) == 0 {
		return
	}
	var once []*history.Usage
	for _, e := range evs {
		if got[e.Kind+"/"+e.ID] == e {
			once = append(once, e)
		}
	}
	slices.SortStableFunc(once, func(a, b *history.Usage) int { return a.At.Compare(b.At) })
	var fromEvents []billing.Step
	var total int64
	for _, e := range once {
		total += e.Delta
		fromEvents = append(fromEvents, billing.Step{At: e.At, Bytes: total})
	}
	from := evs[0].At
	if len(want) > 0 && want[0].at.Before(from) {
		from = want[0].at
	}
	gotBS := billing.Integrate(fromEvents, from, st.At)
	wantBS := billing.Integrate(fromDecisions, from, st.At)
	if d := math.Abs(gotBS - wantBS); d > allowance+1e-9*math.Max(math.Abs(wantBS), 1) {
		c.add([]string{st.User}, "%s: %.0f byte-seconds metered, the decisions integrate to %.0f", st.User, gotBS, wantBS)
	}
}
