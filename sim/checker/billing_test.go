package checker

import (
	"strings"
	"testing"

	"github.com/stormsim/stormsim/sim/history"
)

// billedSet is cleanSet with its usage read back, as the redis-lock
// strategy meters it (every upload is 10 bytes): A's commit keeps v1 and
// makes the final object (+20), B's conflicted copy (+10, its name
// reserved just before the conflict became durable), C's commit keeps v2
// and replaces v1's final bytes (+10). The user stores 40 bytes.
func billedSet() *history.Set {
	s := cleanSet()
	use := func(entry, id, kind string, version, delta, bytes, seq int64, at float64) history.Usage {
		return history.Usage{T: history.KindUsage, Entry: entry, ID: id, User: "u1", Path: "a.txt", Kind: kind,
			Version: version, Delta: delta, Bytes: bytes, Seq: seq, At: ms(at)}
	}
	s.Usages = []history.Usage{
		use("1-0", "A", "commit", 1, 20, 20, 1, 3),
		use("2-0", "B", "copy", 0, 10, 30, 2, 4.5),
		use("3-0", "C", "commit", 2, 10, 40, 3, 9),
	}
	s.Storages = []history.Storage{{T: history.KindStorage, User: "u1", Stored: 40, Objects: 4, Metered: 40,
		At: ms(20), KeepsVersions: true}}
	return s
}

func TestCheckBilling_Clean(t *testing.T) {
	r := Check(billedSet(), Options{Fencing: true})
	res, ok := r.Find(NameBilling)
	if !ok || !res.OK {
		t.Fatalf("billing = %+v, %v", res, ok)
	}
	b := r.Billing
	if b == nil || b.Users != 1 || b.Judged != 1 || len(b.Bills) != 1 || b.Bills[0].Bytes != 40 || b.Bills[0].Events != 3 {
		t.Fatalf("billing figures = %+v", b)
	}
	// 20 B for 1.5 ms, 30 B for 4.5 ms, 40 B for 11 ms, from the first
	// event (3 ms) to the read-back (20 ms).
	if got, want := b.Bills[0].ByteSeconds, (20*1.5+30*4.5+40*11)/1000; got < want-1e-9 || got > want+1e-9 {
		t.Errorf("byte-seconds = %v, want %v", got, want)
	}
}

// TestCheckBilling_BrokenMeter: every way a meter can be wrong is a
// violation, counted where the gates read it.
func TestCheckBilling_BrokenMeter(t *testing.T) {
	tests := []struct {
		name   string
		break_ func(s *history.Set)
		detail string
		check  func(b *Billing) bool
	}{
		{"meter above storage", func(s *history.Set) { s.Storages[0].Metered = 50 },
			"metered 50 bytes, 40 stored", func(b *Billing) bool { return b.MismatchedUsers == 1 }},
		{"storage above meter", func(s *history.Set) { s.Storages[0].Stored = 30 },
			"metered 40 bytes, 30 stored", func(b *Billing) bool { return b.MismatchedUsers == 1 }},
		{"copy metered twice", func(s *history.Set) {
			s.Usages = append(s.Usages, history.Usage{T: history.KindUsage, Entry: "4-0", ID: "B", User: "u1", Path: "a.txt",
				Kind: "copy", Delta: 10, Bytes: 50, Seq: 4, At: ms(6)})
		}, "copy of B metered again", func(b *Billing) bool { return b.DoubleCounted == 1 }},
		{"commit never metered", func(s *history.Set) {
			s.Usages = s.Usages[:2]
		}, "commit of C never metered", func(b *Billing) bool { return b.Lost == 1 }},
		{"rejected upload metered", func(s *history.Set) {
			s.Usages = append(s.Usages, history.Usage{T: history.KindUsage, Entry: "4-0", ID: "D", User: "u1", Path: "a.txt",
				Kind: "commit", Version: 3, Delta: 10, Bytes: 50, Seq: 4, At: ms(12)})
		}, "without such a decision", func(b *Billing) bool { return b.Phantom == 1 }},
		{"version copy not metered", func(s *history.Set) {
			s.Usages[0].Delta, s.Usages[1].Bytes, s.Usages[2].Bytes = 10, 20, 30
		}, "its sizes imply 20", nil},
		{"byte-seconds off", func(s *history.Set) {
			s.Usages[0].Delta, s.Usages[1].Bytes, s.Usages[2].Bytes = 10, 20, 30
		}, "byte-seconds metered", nil},
		{"commit metered at another time", func(s *history.Set) { s.Usages[2].At = ms(8) },
			"commit of C metered at", nil},
		{"copy metered after its decision", func(s *history.Set) { s.Usages[1].At = ms(5.5) },
			"copy of B metered at", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := billedSet()
			tt.break_(s)
			r := Check(s, Options{Fencing: true})
			res, _ := r.Find(NameBilling)
			if res.OK || res.Violations == 0 || !strings.Contains(res.Detail, tt.detail) {
				t.Errorf("billing = %+v, want a violation saying %q", res, tt.detail)
			}
			if tt.check != nil && !tt.check(r.Billing) {
				t.Errorf("figures = %+v", r.Billing)
			}
		})
	}
}

// TestCheckBilling_NotJudged: a user with an event still in flight, or
// whose storage could not be read, is not judged; events trimmed from a
// stream are not counted as lost.
func TestCheckBilling_NotJudged(t *testing.T) {
	inFlight := billedSet()
	inFlight.Storages[0].Metered = 50
	inFlight.Pendings = []history.Pending{{T: history.KindPending, ID: "C", User: "u1", Key: "staging/u1/C", Reason: history.PendingRetrying}}
	unread := billedSet()
	unread.Storages[0].Metered, unread.Storages[0].Error = 0, "list files/u1/: timeout"
	trimmed := billedSet()
	trimmed.Usages = trimmed.Usages[1:]
	for name, s := range map[string]*history.Set{"in flight": inFlight, "unread": unread, "trimmed": trimmed} {
		t.Run(name, func(t *testing.T) {
			r := Check(s, Options{Fencing: true})
			if res, _ := r.Find(NameBilling); !res.OK {
				t.Errorf("billing = %+v, want ok", res)
			}
		})
	}
}

// TestCheckBilling_NoReadBack: a history without storage records (written
// before billing was read back) has no billing check.
func TestCheckBilling_NoReadBack(t *testing.T) {
	r := Check(cleanSet(), Options{Fencing: true})
	if _, ok := r.Find(NameBilling); ok || r.Billing != nil {
		t.Error("billing judged without storage records")
	}
}
