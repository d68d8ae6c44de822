package checker

import (
	"strings"
	"testing"

	"github.com/stormsim/stormsim/sim/history"
)

// regionSet is a correct two-region history of one file homed in eu: v1
// and v2 committed, both replicated to us (a duplicate of v1 arriving late
// and skipped), a device in us reading each, both regions converged.
func regionSet() *history.Set {
	const user, path = "u1", "a.txt"
	rep := func(v int64, sha, outcome string, held int64, start, at float64) history.Replica {
		return history.Replica{T: history.KindReplica, Region: "us", Home: "eu", User: user, Path: path, Version: v,
			SHA256: sha, Outcome: outcome, Held: held, Start: ms(start), At: ms(at), Notified: outcome == history.ReplicaApplied}
	}
	view := func(v int64, sha string, start, at float64) history.View {
		return history.View{T: history.KindView, Region: "us", Device: "d1", User: user, Path: path, Version: v, SHA256: sha,
			Start: ms(start), At: ms(at)}
	}
	final := func(region string, v int64, sha string) history.RegionFinal {
		return history.RegionFinal{T: history.KindRegionFinal, Region: region, Home: "eu", User: user, Path: path,
			Version: v, SHA256: sha, Found: true}
	}
	return &history.Set{
		Commits: []history.Commit{
			{T: history.KindCommit, ID: "A", User: user, Path: path, Base: 0, Version: 1, SHA256: shaA, At: ms(1)},
			{T: history.KindCommit, ID: "C", User: user, Path: path, Base: 1, Version: 2, SHA256: shaC, At: ms(15)},
		},
		Replicas: []history.Replica{
			rep(1, shaA, history.ReplicaApplied, 0, 10, 12),
			rep(2, shaC, history.ReplicaApplied, 1, 20, 22),
			rep(1, shaA, history.ReplicaSkipped, 2, 25, 26),
		},
		Views: []history.View{view(0, "", 2, 3), view(1, shaA, 13, 14), view(1, shaA, 21, 23), view(2, shaC, 23, 24)},
		Notifies: []history.Notify{
			{T: history.KindNotify, Region: "us", User: user, Path: path, Version: 1, At: ms(12)},
			{T: history.KindNotify, Region: "us", User: user, Path: path, Version: 2, At: ms(22)},
		},
		RegionFinals: []history.RegionFinal{final("eu", 2, shaC), final("us", 2, shaC)},
	}
}

func TestCheck_Regions_Clean(t *testing.T) {
	r := Check(regionSet(), Options{})
	for _, name := range []string{NameConvergence, NameNoRegression, NameNoPhantom, NameReplicationIdempotent, NameNotified} {
		c, ok := r.Find(name)
		if !ok || !c.OK {
			t.Errorf("%s: ok=%v %+v", name, ok, c)
		}
	}
	if _, ok := Check(cleanSet(), Options{}).Find(NameConvergence); ok {
		t.Error("a single-region history got the region checks")
	}
}

func TestCheck_Regions_Broken(t *testing.T) {
	tests := []struct {
		name   string
		breaks func(s *history.Set)
		fails  []string // exactly these region checks fail; the first's detail names detail
		detail string
	}{
		{"stale-region", func(s *history.Set) { s.RegionFinals[1].Version, s.RegionFinals[1].SHA256 = 1, shaA },
			[]string{NameConvergence}, "region us holds v1"},
		{"wrong-bytes", func(s *history.Set) { s.RegionFinals[1].SHA256 = shaB },
			[]string{NameConvergence, NameNoPhantom}, "home head v2"},
		{"region-not-read", func(s *history.Set) {
			s.RegionFinals = append(s.RegionFinals, history.RegionFinal{T: history.KindRegionFinal, Region: "ap", User: "u1", Path: "b.txt"})
		}, []string{NameConvergence}, "region eu not read back"},
		{"late-v1-applied", func(s *history.Set) {
			s.Replicas[2].Outcome = history.ReplicaApplied
			s.Notifies = append(s.Notifies, history.Notify{T: history.KindNotify, Region: "us", User: "u1", Path: "a.txt", Version: 1, At: ms(26)})
		}, []string{NameReplicationIdempotent, NameNoRegression}, "v1 applied over v2"},
		{"read-goes-back", func(s *history.Set) {
			s.Views = append(s.Views, history.View{T: history.KindView, Region: "us", Device: "d2", User: "u1", Path: "a.txt",
				Version: 1, SHA256: shaA, Start: ms(30), At: ms(31)})
		}, []string{NameNoRegression}, "v1 read by d2"},
		{"notified-before-copy", func(s *history.Set) {
			// us told its devices of v2 at 16, before v2 was copied there
			// (20-22); a device reading on it at 17 found v1.
			s.Notifies[1].At = ms(16)
			s.Views = append(s.Views, history.View{T: history.KindView, Region: "us", Device: "d2", User: "u1", Path: "a.txt",
				Version: 1, SHA256: shaA, Start: ms(17), At: ms(18)})
		}, []string{NameNoRegression}, "v1 read by d2"},
		{"late-notification-allowed", func(s *history.Set) { s.Notifies[0].At = ms(30) }, // v1's was in flight while v2 was applied
			nil, ""},
		{"bytes-not-metadata", func(s *history.Set) { s.Views[2].SHA256 = shaC },
			[]string{NameNoPhantom}, "read by d1 in us has v1"},
		{"phantom-version", func(s *history.Set) { s.Views[3].Version = 3 },
			[]string{NameNoPhantom}, "never committed"},
		{"never-notified", func(s *history.Set) { s.Notifies = s.Notifies[:1] },
			[]string{NameNotified}, "v2 applied at"},
		{"notify-failed-reported", func(s *history.Set) {
			s.Notifies = s.Notifies[:1]
			s.Replicas[1].Notified, s.Replicas[1].Error = false, "notify us: redis down"
		}, nil, ""},
		{"double-notify", func(s *history.Set) { s.Notifies = append(s.Notifies, s.Notifies[1]) },
			[]string{NameReplicationIdempotent}, "notified 2 times"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := regionSet()
			tt.breaks(s)
			r := Check(s, Options{})
			for _, name := range []string{NameConvergence, NameNoRegression, NameNoPhantom, NameReplicationIdempotent, NameNotified} {
				c, _ := r.Find(name)
				want := contains(tt.fails, name)
				if c.OK == want {
					t.Errorf("%s ok=%v, want ok=%v: %s", name, c.OK, !want, c.Detail)
				}
				if len(tt.fails) > 0 && name == tt.fails[0] && !strings.Contains(c.Detail, tt.detail) {
					t.Errorf("%s detail %q lacks %q", name, c.Detail, tt.detail)
				}
			}
		})
	}
}

func contains(xs []string, x string) bool {
	for _, s := range xs {
		if s == x {
			return true
		}
	}
	return false
}
