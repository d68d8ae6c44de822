package billing

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/stormsim/stormsim/coordinator"
)

// Units of the bill.
const (
	GiB = 1 << 30
	// Month is the billing month: 730 hours.
	Month = 730 * time.Hour
)

// GBMonths converts byte-seconds to GiB-months.
func GBMonths(byteSeconds float64) float64 {
	return byteSeconds / GiB / Month.Seconds()
}

// Step is a user's stored bytes from At on.
type Step struct {
	At    time.Time
	Bytes int64
}

// Integrate returns the byte-seconds of a step function over [from, to]:
// before the first step nothing is stored; a step earlier than the one
// before it (two handlers' clocks read out of order) takes effect at the
// earlier step's time, so no interval is negative.
func Integrate(steps []Step, from, to time.Time) float64 {
	var total float64
	var bytes int64
	at := from
	for _, s := range steps {
		t := s.At
		if t.Before(at) {
			t = at
		}
		if t.After(to) {
			t = to
		}
		total += float64(bytes) * t.Sub(at).Seconds()
		bytes, at = s.Bytes, t
	}
	if to.After(at) {
		total += float64(bytes) * to.Sub(at).Seconds()
	}
	return total
}

// Bill is one user's bill for the period.
type Bill struct {
	User string
	// Bytes is what the user stores at the end of the period.
	Bytes       int64
	ByteSeconds float64
	GBMonths    float64
	// Events counts the usage events billed; Duplicates those dropped as
	// a second metering of one decision (upload and kind); Gaps the
	// sequence gaps resynchronised over.
	Events, Duplicates, Gaps int
}

// account is one user's state in a Ledger.
type account struct {
	steps      []Step
	bytes      int64
	skew       int64  // deltas of duplicates the meter counted and the bill did not
	seq        int64  // last sequence number seen, 0 before the first
	lastID     string // last stream entry id seen
	events     int
	duplicates int
	gaps       int
	decisions  map[string]bool // kind + "/" + upload
}

// Ledger integrates usage events into bills. The zero value is not
// usable; call NewLedger. It remembers, per user, the last stream entry
// id and every (upload, kind) billed; a long-running consumer would
// forget the latter after the coordinator's result TTL, past which no
// retry of a decision comes.
type Ledger struct {
	accounts map[string]*account
}

// NewLedger returns an empty ledger.
func NewLedger() *Ledger {
	return &Ledger{accounts: map[string]*account{}}
}

// streamIDAfter reports whether Redis stream id a ("ms-seq") comes after b.
func streamIDAfter(a, b string) bool {
	am, as := splitStreamID(a)
	bm, bs := splitStreamID(b)
	return am > bm || am == bm && as > bs
}

func splitStreamID(id string) (ms, seq uint64) {
	m, s, _ := strings.Cut(id, "-")
	ms, _ = strconv.ParseUint(m, 10, 64)
	seq, _ = strconv.ParseUint(s, 10, 64)
	return ms, seq
}

// Add takes one event, in its user's stream order. It reports false when
// the event was not billed: a re-read entry or a duplicate decision.
func (l *Ledger) Add(e coordinator.UsageEvent) bool {
	a := l.accounts[e.User]
	if a == nil {
		a = &account{decisions: map[string]bool{}}
		l.accounts[e.User] = a
	}
	if a.lastID != "" && !streamIDAfter(e.ID, a.lastID) {
		return false // read again: stream ids only grow
	}
	a.lastID = e.ID
	if e.Seq != a.seq+1 {
		// Entries were trimmed before they were read (or the stream was
		// rebuilt): start again from the meter's total before this event.
		a.gaps++
		a.bytes = e.Bytes - e.Delta - a.skew
	}
	a.seq = e.Seq
	key := e.Kind + "/" + e.Upload
	if a.decisions[key] {
		a.duplicates++
		a.skew += e.Delta
		return false
	}
	a.decisions[key] = true
	a.events++
	a.bytes += e.Delta
	a.steps = append(a.steps, Step{At: e.At, Bytes: a.bytes})
	return true
}

// Bills closes the period [from, to] and returns one bill per user who
// has events, by user name.
func (l *Ledger) Bills(from, to time.Time) []Bill {
	out := make([]Bill, 0, len(l.accounts))
	for user, a := range l.accounts {
		bs := Integrate(a.steps, from, to)
		out = append(out, Bill{User: user, Bytes: a.bytes, ByteSeconds: bs, GBMonths: GBMonths(bs),
			Events: a.events, Duplicates: a.duplicates, Gaps: a.gaps})
	}
	slices.SortFunc(out, func(a, b Bill) int { return cmp.Compare(a.User, b.User) })
	return out
}
