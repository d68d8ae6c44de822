package workload

import (
	"math"
	"testing"
)

// TestPlan_Next_Follow checks follow-on edits: a following upload edits
// its device's previous file from an up-to-date base, the share follows
// the phase's setting, and only phases with follow > 0 have them.
func TestPlan_Next_Follow(t *testing.T) {
	const pop = "population: {users: 5, devices_per_user: 2, files_per_user: 20, hot_files: 1, hot_share: 0.3, stale_share: 0.5, max_staleness: 2}\n"
	tests := []struct {
		name   string
		src    string
		phase  string  // the phase whose share is checked
		share  float64 // expected share of follow-on edits among uploads with an earlier one
		anyOff bool    // uploads of other phases must not follow
	}{
		{"none", "phases: [{kind: constant, rate: 100, count: 400}]\n" + pop, "constant-0", 0, true},
		{"all", "phases: [{kind: burst, count: 50, at: 0s}, {kind: constant, rate: 100, count: 400, follow: 1, name: edit}]\n" + pop, "edit", 1, true},
		{"half", "phases: [{kind: burst, count: 50, at: 0s}, {kind: constant, rate: 100, count: 2000, follow: 0.5, name: edit}]\n" + pop, "edit", 0.5, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc := scenario(t, tt.src)
			last := map[[2]int]int{}
			eligible, follows := 0, 0
			for _, a := range collect(t, NewPlan(sc, 3)) {
				key := [2]int{a.User, a.Device}
				prev, seen := last[key]
				last[key] = a.File
				if a.Phase != tt.phase {
					if a.Follow && tt.anyOff {
						t.Fatalf("upload %d of phase %s follows", a.Seq, a.Phase)
					}
					continue
				}
				if !seen {
					if a.Follow {
						t.Fatalf("upload %d follows but its device uploaded nothing before", a.Seq)
					}
					continue
				}
				eligible++
				if !a.Follow {
					continue
				}
				follows++
				if a.File != prev || a.Stale != 0 || a.Hot != (a.File < 1) {
					t.Fatalf("follow-on upload %d: file %d stale %d hot %v, want file %d, stale 0, hot %v", a.Seq, a.File, a.Stale, a.Hot, prev, prev < 1)
				}
			}
			got := float64(follows) / float64(max(eligible, 1))
			if math.Abs(got-tt.share) > 0.05 {
				t.Errorf("%d of %d eligible uploads follow (%.2f), want about %.2f", follows, eligible, got, tt.share)
			}
		})
	}
}

// TestHash_Follow: follow-on edits are part of the planned workload.
func TestHash_Follow(t *testing.T) {
	a := scenario(t, "phases: [{kind: burst, count: 50, at: 0s}, {kind: constant, rate: 100, count: 100}]")
	b := scenario(t, "phases: [{kind: burst, count: 50, at: 0s}, {kind: constant, rate: 100, count: 100, follow: 0.5}]")
	if Hash(a, 1) == Hash(b, 1) {
		t.Fatal("follow-on edits do not change the hash")
	}
	if Hash(b, 1) != Hash(b, 1) {
		t.Fatal("same seed, different hashes")
	}
}
