package report

import (
	"bytes"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stormsim/stormsim/scenarios"
	"github.com/stormsim/stormsim/sim/checker"
	"github.com/stormsim/stormsim/sim/history"
	"github.com/stormsim/stormsim/sim/regions"
)

func regionsResult(t *testing.T, gates ...string) (*regions.Result, *scenarios.Scenario) {
	t.Helper()
	yaml := `
name: r
seed: 1
phases: [{kind: constant, rate: 10, duration: 1s}]
population: {users: 2, devices_per_user: 2, files_per_user: 1}
regions:
  list: [{name: eu, users: 0.5, devices: 1}, {name: us, users: 0.5, devices: 1}]
  latency: [{from: eu, to: us, latency: 20ms}]
gates: [` + strings.Join(gates, ", ") + `]
`
	sc, err := scenarios.Parse("r.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	set := &history.Set{
		Uploads: []history.Upload{{T: history.KindUpload, ID: "a", User: "u00000", Path: "f", Size: 1 << 20,
			Intended: t0, Done: t0.Add(300 * time.Millisecond), Outcome: history.OutcomeCommitted, Version: 1, Polls: 1}},
		Commits: []history.Commit{{T: history.KindCommit, ID: "a", User: "u00000", Path: "f", Version: 1, SHA256: "x", At: t0}},
		Replicas: []history.Replica{{T: history.KindReplica, Region: "us", Home: "eu", User: "u00000", Path: "f", Version: 1,
			SHA256: "x", Outcome: history.ReplicaApplied, Bytes: 1 << 20, Start: t0, At: t0.Add(2 * time.Second)}},
		RegionFinals: []history.RegionFinal{
			{T: history.KindRegionFinal, Region: "eu", Home: "eu", User: "u00000", Path: "f", Version: 1, SHA256: "x", Size: 1 << 20, Found: true},
			{T: history.KindRegionFinal, Region: "us", Home: "eu", User: "u00000", Path: "f", Version: 1, SHA256: "x", Size: 1 << 20, Found: true},
		},
	}
	res := &regions.Result{Scenario: "r", Seed: 1, Elapsed: 3 * time.Second, History: set,
		Check: checker.Check(set, checker.Options{}), Regions: regions.Measure(set, sc.Regions)}
	return res, sc
}

func TestBuildRegions_FiguresGatesCost(t *testing.T) {
	res, sc := regionsResult(t, `"regions.lag.p99 < 1s"`, `"regions.replication_failed == 0"`)
	r := BuildRegions(res, sc, "")
	if r.Regions == nil || len(r.Regions.Lag) != 1 || r.Regions.Lag[0].P99 != 2 {
		t.Fatalf("regions %+v", r.Regions)
	}
	if r.Verdict != Fail || r.Gates[0].OK || !r.Gates[1].OK {
		t.Errorf("verdict %s gates %+v: want the lag gate (2s) failed, the other kept", r.Verdict, r.Gates)
	}
	want := 1.0 / 1024 * DefaultPrices().Transfer.InterRegionGB
	if got := r.Cost.Items["inter_region_transfer"]; got != want || want == 0 {
		t.Errorf("transfer cost %v, want %v", got, want)
	}
	if r.Regions.Regions[0].UsersHomed != 1 || r.Regions.Regions[1].StoredBytes != 1<<20 {
		t.Errorf("region rows %+v", r.Regions.Regions)
	}
}

// The cost of a multi-region run prices every region: a Redis node each
// for the run, the bytes stored in each, every region's S3 requests and
// handler invocations, and the transfer between them, all in the total.
func TestBuildRegions_Cost_EveryRegion(t *testing.T) {
	res, sc := regionsResult(t)
	res.RunElapsed = time.Hour
	res.S3Ops = map[string]int64{"PUT": 1000, "GET": 1000}
	res.Invocations, res.HandlerSeconds = 10, 1
	c := BuildRegions(res, sc, "").Cost
	p := DefaultPrices()
	tests := []struct {
		item string
		qty  float64
	}{
		{"redis.node_hours", 2 * p.Redis.Nodes}, // two regions, one hour each
		{"s3.gb_months", 2.0 / 1024 * p.S3.StorageMonths},
		{"s3.tier1_requests", 1000},
		{"s3.tier2_requests", 1000},
		{"lambda.requests", 10},
		{"inter_region_transfer", 1.0 / 1024},
	}
	sum := 0.0
	for _, tt := range tests {
		if got := c.Quantities[tt.item]; got != tt.qty {
			t.Errorf("%s: quantity %v, want %v", tt.item, got, tt.qty)
		}
	}
	for _, v := range c.Items {
		sum += v
	}
	if math.Abs(c.Total-sum) > 1e-12 || math.Abs(c.Per1000-sum*1000) > 1e-9 {
		t.Errorf("total %v, per 1000 %v: want %v and %v (one upload)", c.Total, c.Per1000, sum, sum*1000)
	}
}

func TestHTML_Regions_TableAndLagChart(t *testing.T) {
	res, sc := regionsResult(t)
	r := BuildRegions(res, sc, "")
	charts, err := Charts(r)
	if err != nil {
		t.Fatal(err)
	}
	svgs := map[string][]byte{}
	for _, c := range charts {
		svgs[c.Name] = c.SVG
	}
	if _, ok := svgs["lag-eu-to-us"]; !ok {
		t.Fatalf("no lag chart for eu -> us among %v", len(svgs))
	}
	var buf bytes.Buffer
	if err := HTML(&buf, r, svgs); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`id="regions"`, `id="chart-lag-eu-to-us"`, "eu -&gt; us", "Replication lag of one region pair"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
}

// An upload launched that left neither an upload record nor a refused one
// fails the run: a home region that is down never loses one silently.
func TestBuildRegions_Verdict_SilentLoss(t *testing.T) {
	tests := []struct {
		name              string
		launched, refused int64
		lost              bool
	}{
		{"all recorded", 1, 0, false},
		{"one refused", 2, 1, false},
		{"one lost", 3, 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, sc := regionsResult(t)
			res.Launched, res.Refused = tt.launched, tt.refused
			r := BuildRegions(res, sc, "")
			lost := slices.ContainsFunc(r.Reasons, func(s string) bool { return strings.Contains(s, "lost silently") })
			if lost != tt.lost || lost && r.Verdict != Fail {
				t.Errorf("verdict %s %v: want lost silently %v", r.Verdict, r.Reasons, tt.lost)
			}
		})
	}
}
