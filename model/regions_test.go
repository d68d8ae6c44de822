package model

import (
	"context"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stormsim/stormsim/scenarios"
)

// twoRegions: one user homed in a, its one device in b, 100ms apart,
// one upload a second: every replica lands before the next upload.
const twoRegions = `name: two
seed: 5
drain: 20s
phases: [{kind: constant, rate: 1, duration: 5s}]
population: {users: 1, devices_per_user: 1, files_per_user: 1, hot_share: 0}
sizes: {kind: fixed, value: 1KiB}
regions:
  list:
    - {name: a, users: 1, devices: 0}
    - {name: b, users: 0, devices: 1}
  latency:
    - {from: a, to: b, latency: 100ms}
`

func parse(t *testing.T, yaml string) *scenarios.Scenario {
	t.Helper()
	sc, err := scenarios.Parse("test.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// zeroProfile has no latency anywhere: what remains is the network's.
func zeroProfile() *Profile {
	return &Profile{Name: "zero", Handler: Handler{Kind: "queue"}, Redis: Redis{Shards: 1}}
}

func planWith(t *testing.T, sc *scenarios.Scenario, p *Profile, seed uint64) *Result {
	t.Helper()
	res, err := Run(context.Background(), Options{Scenario: sc, Seed: seed, Profile: p, Calls: recorded(t), Started: time.Unix(0, 0)})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// near reports whether a histogram quantile (3 significant digits) is x.
func near(got, want float64) bool { return math.Abs(got-want) <= want*0.002 }

// With no latency but the network's, every figure is the latency matrix:
// a device in b stages across (2L) and its first poll, as the PUT
// returns, crosses too (2L); a replica lands after the HEAD and the PUT
// each crossed both ways (4L); b's devices hear of it one L later, when
// the replicator's worker is free again (5L a version). Each upload
// reads the version before it, so none conflicts and no read is stale.
func TestRun_Regions_NetworkOnly(t *testing.T) {
	const l = 0.1
	res := planWith(t, parse(t, twoRegions), zeroProfile(), 5)
	m := res.Run.Measure
	if lo, hi := float64(m.Latency.Min())/1e6, float64(m.Latency.Max())/1e6; !near(lo, 4*l) || !near(hi, 4*l) {
		t.Errorf("latency min %g max %g s, want %g s for every upload", lo, hi, 4*l)
	}
	if m.Outcomes["committed"] != 5 {
		t.Errorf("outcomes %v, want 5 commits", m.Outcomes)
	}
	g := res.Regions
	if g == nil || len(g.Measures.Lag) != 1 {
		t.Fatalf("regions %+v", g)
	}
	lag := g.Measures.Lag[0]
	committed := int(m.Outcomes["committed"])
	if lag.Home != "a" || lag.Region != "b" || lag.Applied != committed || committed == 0 {
		t.Errorf("pair %s->%s applied %d skipped %d, want a->b applying all %d commits", lag.Home, lag.Region, lag.Applied, lag.Skipped, committed)
	}
	if !near(lag.P50, 4*l) || !near(lag.P99, 4*l) || !near(lag.Max, 4*l) || len(lag.Points) != lag.Applied {
		t.Errorf("lag p50 %g p99 %g max %g, %d points; want %g s each, a point per replica", lag.P50, lag.P99, lag.Max, len(lag.Points), 4*l)
	}
	a, b := g.Measures.Regions[0], g.Measures.Regions[1]
	// Converged: b holds every file a holds, the same versions' bytes.
	if a.Files == 0 || a.Files != b.Files || a.StoredBytes != b.StoredBytes || a.UsersHomed == 0 || b.UsersHomed != 0 {
		t.Errorf("regions %+v %+v", a, b)
	}
	if a.Notifications != 0 || b.Notifications != 5 || a.Views != 0 || b.Views != 10 {
		t.Errorf("notifications %d/%d views %d/%d, want 0/5 and 0/10 (an upload's read and a notification's each)", a.Notifications, b.Notifications, a.Views, b.Views)
	}
	if st := g.Measures.Staleness; st.Reads != 10 || st.Stale != 0 {
		t.Errorf("staleness %+v, want 10 reads, none stale", st)
	}
	total := m.Outcomes["committed"] + m.Outcomes["conflict"]
	if g.Measures.UploadCrossBytes != total*1024 || g.Measures.ReplicationBytes != int64(lag.Applied)*1024 {
		t.Errorf("cross bytes %d, replication bytes %d; want %d and %d", g.Measures.UploadCrossBytes, g.Measures.ReplicationBytes, total*1024, lag.Applied*1024)
	}
	if g.Invocations != int64(committed) || g.HandlerSeconds < float64(committed)*5*l*0.99 {
		t.Errorf("replicator invocations %d, %g s", g.Invocations, g.HandlerSeconds)
	}
}

// scenarios/regions.yaml: three regions, the queue delaying and
// duplicating events. Every version reaches every other region, exactly
// once applied; the plan is the same for the same seed.
func TestRun_Regions_Builtin(t *testing.T) {
	sc := builtin(t, "regions")
	res := plan(t, sc, "embedded", sc.Seed)
	g := res.Regions
	if g == nil {
		t.Fatal("no regions figures")
	}
	ms := g.Measures
	if len(ms.Lag) != 6 {
		t.Fatalf("%d pairs, want 6", len(ms.Lag))
	}
	if g.Duplicated == 0 {
		t.Error("replication-duplicate at 0.2 duplicated nothing")
	}
	applied := map[string]int{}
	for _, l := range ms.Lag {
		applied[l.Home] += l.Applied
		// the HEAD and the PUT cross twice each: at least 4 one-way latencies
		min := 4 * sc.Regions.LatencyBetween(sc.Regions.Index(l.Home), sc.Regions.Index(l.Region)).Seconds()
		if l.Applied == 0 || l.P50 < min || l.P99 < l.P50 || l.Max < l.P99 || l.P99 > 5 {
			t.Errorf("%s->%s: applied %d, p50 %g p99 %g max %g (at least %g)", l.Home, l.Region, l.Applied, l.P50, l.P99, l.Max, min)
		}
	}
	for i, r := range ms.Regions {
		// every version committed at home applied once in each of the
		// other two regions, and every region ends holding the same files
		if r.Files != ms.Regions[0].Files || r.StoredBytes != ms.Regions[0].StoredBytes {
			t.Errorf("region %s holds %d files, %d bytes; %s %d, %d", r.Name, r.Files, r.StoredBytes, ms.Regions[0].Name, ms.Regions[0].Files, ms.Regions[0].StoredBytes)
		}
		if r.Notifications == 0 || r.Views == 0 || r.UsersHomed == 0 {
			t.Errorf("region %d: %+v", i, r)
		}
	}
	if ms.Staleness.Reads == 0 || ms.UploadCrossBytes == 0 || ms.ReplicationBytes == 0 {
		t.Errorf("staleness %+v, cross %d, replication %d", ms.Staleness, ms.UploadCrossBytes, ms.ReplicationBytes)
	}
	again := plan(t, sc, "embedded", sc.Seed)
	if !reflect.DeepEqual(again.Regions, res.Regions) {
		t.Error("two plans of regions.yaml with one seed differ")
	}
}

func TestRun_Regions_OutagesNotModelled(t *testing.T) {
	sc := builtin(t, "regions-faults")
	_, err := Run(context.Background(), Options{Scenario: sc, Seed: 1, Profile: zeroProfile(), Calls: recorded(t)})
	if !errors.Is(err, ErrNotModelled) || !strings.Contains(err.Error(), "regions.faults[0].kind region-partition") {
		t.Fatalf("err %v, want ErrNotModelled naming regions.faults[0].kind", err)
	}
	if err := Check(sc, zeroProfile()); !errors.Is(err, ErrNotModelled) {
		t.Fatalf("Check: %v", err)
	}
}

// Replication that outlasts the drain leaves the plan inconclusive, as a
// regions run whose queues did not empty.
func TestRun_Regions_DrainTimeout(t *testing.T) {
	sc := builtin(t, "regions")
	sc.Phases[0].Rate, sc.Drain = 1000, time.Second
	res := plan(t, sc, "embedded", sc.Seed)
	if !res.Run.DrainTimeout || !strings.Contains(strings.Join(res.Info.Notes, "\n"), "replication event(s) still queued") {
		t.Fatalf("drain timeout %v, notes %q", res.Run.DrainTimeout, res.Info.Notes)
	}
	ok := builtin(t, "regions")
	if res := plan(t, ok, "embedded", ok.Seed); res.Run.DrainTimeout {
		t.Fatalf("regions.yaml drained late: %q", res.Info.Notes)
	}
}
