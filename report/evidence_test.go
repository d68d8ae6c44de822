package report

import (
	"strings"
	"testing"

	"github.com/stormsim/stormsim/scenarios"
	"github.com/stormsim/stormsim/sim"
)

// TestVerdict_Evidence_Cases: a run whose faults acted too rarely (their
// min_* keys) or whose evidence expressions do not hold is inconclusive,
// never a pass, with a reason naming what did not happen; a violation
// still fails it.
func TestVerdict_Evidence_Cases(t *testing.T) {
	g, err := scenarios.ParseGate("uploads.conflict >= 10")
	if err != nil {
		t.Fatal(err)
	}
	unmet := "faults[0] redis-lock-expiry stalled while a newer version was committed 0 time(s), fewer than its min_overtaken 4"
	tests := []struct {
		name       string
		conflicts  int64
		unmet      []string
		violations int
		want, why  string
	}{
		{"all seen", 12, nil, 0, Pass, ""},
		{"fault evidence unmet", 12, []string{unmet}, 0, Inconclusive, unmet},
		{"expression not seen", 3, nil, 0, Inconclusive, `evidence "uploads.conflict >= 10" not seen (measured 3)`},
		{"violation beside unmet evidence", 3, []string{unmet}, 1, Fail, "invariant x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Results{Throughput: Throughput{AchievedRatio: 1}, Uploads: Uploads{Total: 20, Conflict: tt.conflicts},
				Invariants: []Invariant{{Name: "x", Violations: tt.violations, OK: tt.violations == 0}}}
			v, why := verdict(r, &sim.Result{Unmet: tt.unmet}, unseenEvidence([]scenarios.Gate{g}, r))
			if v != tt.want {
				t.Fatalf("verdict %s %q, want %s", v, why, tt.want)
			}
			if tt.why != "" && !strings.Contains(strings.Join(why, "\n"), tt.why) {
				t.Errorf("reasons %q lack %q", why, tt.why)
			}
		})
	}
}
