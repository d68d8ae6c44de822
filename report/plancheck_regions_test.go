package report

import (
	"bytes"
	"strings"
	"testing"
)

// regionsResults is a regions run (or plan) with one pair a->b.
func regionsResults(p50, p99 float64, notified int, cross int64) *Results {
	r := planResults(1.0, 10, false)
	r.Harness = nil // a regions run has no harness section
	r.Throughput.MaxInFlight = 0
	r.Regions = &Regions{
		Regions:   []RegionRow{{Name: "a"}, {Name: "b", Notifications: notified}},
		Lag:       []RegionLag{{Home: "a", Region: "b", Applied: 40, P50: p50, P99: p99}},
		Staleness: RegionStaleness{Reads: 50, Stale: 10, Share: 0.2}, ReplicationBytes: 40 << 10, UploadCrossBytes: cross}
	return r
}

func TestCheckPlan_Regions_Cases(t *testing.T) {
	for _, tt := range []struct {
		name            string
		plan, measured  *Results
		want            string
		outside, absent []string
	}{
		{"within", regionsResults(0.40, 0.60, 40, 1000), regionsResults(0.44, 0.70, 42, 1005), Pass, nil, nil},
		// 0.40 against 0.50: 0.10 off, more than 15% (0.075) and 20ms
		{"lag p50 outside", regionsResults(0.40, 0.60, 40, 1000), regionsResults(0.50, 0.60, 40, 1000), Fail,
			[]string{"regions.lag[a->b].p50"}, nil},
		// p99 within ±50ms even where 25% is less
		{"short p99 absolute", regionsResults(0.02, 0.06, 40, 1000), regionsResults(0.02, 0.10, 40, 1000), Pass, nil, nil},
		{"notifications and cross bytes outside", regionsResults(0.40, 0.60, 30, 1000), regionsResults(0.40, 0.60, 40, 1100), Fail,
			[]string{"regions.notifications[b]", "regions.upload_cross_bytes"}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tols := RegionsPlanTolerances(tt.plan)
			c := CheckPlan(tt.plan, tt.measured, tols)
			if c.Verdict != tt.want {
				t.Fatalf("verdict %s (%v), want %s", c.Verdict, c.Reasons, tt.want)
			}
			rows := map[string]PlanRow{}
			for _, r := range c.Rows {
				rows[r.Metric] = r
			}
			for _, m := range []string{"regions.lag[a->b].p50", "regions.lag[a->b].p99", "regions.notifications[a]",
				"regions.notifications[b]", "regions.upload_cross_bytes", "regions.replication_bytes", "regions.stale_share"} {
				if r, ok := rows[m]; !ok || !r.Judged {
					t.Errorf("row %s: %+v (present %v), want judged", m, r, ok)
				}
			}
			for _, m := range tt.outside {
				if rows[m].OK {
					t.Errorf("row %s within tolerance: %+v", m, rows[m])
				}
			}
			if r := rows["throughput.max_in_flight"]; r.Judged || r.Reason == "" {
				t.Errorf("max in flight judged in a regions check: %+v", r)
			}
			var buf bytes.Buffer
			if err := WritePlanCheck(&buf, c); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(buf.String(), "regions.lag[a->b].p99") || !strings.Contains(buf.String(), "±25% or ±0.05") {
				t.Errorf("table:\n%s", buf.String())
			}
		})
	}
}

// A pair the measured run did not replicate over is printed, not judged.
func TestCheckPlan_Regions_MissingPair(t *testing.T) {
	plan := regionsResults(0.4, 0.6, 40, 1000)
	measured := regionsResults(0.4, 0.6, 40, 1000)
	measured.Regions.Lag = nil
	c := CheckPlan(plan, measured, RegionsPlanTolerances(plan))
	for _, r := range c.Rows {
		if strings.HasPrefix(r.Metric, "regions.lag[") && (r.Judged || r.Reason != "no samples") {
			t.Errorf("row %+v", r)
		}
	}
	if c.Verdict != Pass {
		t.Errorf("verdict %s: %v", c.Verdict, c.Reasons)
	}
}
