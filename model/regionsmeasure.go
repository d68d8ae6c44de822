package model

import (
	"cmp"
	"slices"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/stormsim/stormsim/scenarios"
	simregions "github.com/stormsim/stormsim/sim/regions"
)

// Regions is what a multi-region plan reports beyond a run's figures: the
// figures sim/regions measures from a run's history (lag per pair,
// staleness, where users and bytes live, notifications, cross-region
// bytes), from histograms instead of a history, and the replicator's
// usage for the cost.
type Regions struct {
	Measures simregions.Measures
	// Duplicated counts replication events the queue delivered twice.
	Duplicated int64
	// Invocations and HandlerSeconds are the replicators' (every region's).
	Invocations    int64
	HandlerSeconds float64
}

// maxLagPoints is how many points a lag chart keeps per pair, as
// sim/regions' Measure does.
const maxLagPoints = 2000

// regionMeasure aggregates what a multi-region plan shows.
type regionMeasure struct {
	rg                   *scenarios.Regions
	n                    int
	pairs                []pairAgg // [home*n+target]
	views, notifications []int
	reads, stale         int
	maxVersions          int64
	behind               *hdrhistogram.Histogram
	behindMax            int64 // nanoseconds
	replBytes            int64
	crossBytes           int64
	dups, invocations    int64
	busyNs               int64
	first                int64 // the first commit
	committed            bool
}

// pairAgg is one (home, target) pair's replication outcomes and lag.
type pairAgg struct {
	applied, skipped int
	lag              *hdrhistogram.Histogram
	sum, max         int64 // nanoseconds
	points           [][2]float64
	stride, seen     int
}

func newRegionMeasure(rg *scenarios.Regions) *regionMeasure {
	n := len(rg.List)
	return &regionMeasure{rg: rg, n: n, pairs: make([]pairAgg, n*n), views: make([]int, n), notifications: make([]int, n),
		behind: newHist()}
}

func (r *regionMeasure) pair(home, target uint8) *pairAgg { return &r.pairs[int(home)*r.n+int(target)] }

func (r *regionMeasure) commit(now int64) {
	if !r.committed {
		r.first, r.committed = now, true
	}
}

// staleRead counts a non-home read: behind is how long the version after
// the one it showed had been committed (-1: it showed the home head).
func (r *regionMeasure) staleRead(behind, versions int64) {
	r.reads++
	if behind < 0 {
		return
	}
	r.stale++
	r.maxVersions = max(r.maxVersions, versions)
	r.behindMax = max(r.behindMax, behind)
	_ = r.behind.RecordValue(us(max(behind, 0)))
}

// applied counts a version committed at commit applied in target at at.
func (r *regionMeasure) applied(home, target uint8, commit, at, size int64) {
	p := r.pair(home, target)
	if p.lag == nil {
		p.lag, p.stride = newHist(), 1
	}
	lag := max(at-commit, 0)
	p.applied++
	_ = p.lag.RecordValue(us(lag))
	p.sum += lag
	p.max = max(p.max, lag)
	if p.seen%p.stride == 0 {
		p.points = append(p.points, [2]float64{float64(commit-r.first) / 1e9, float64(lag) / 1e9})
	}
	p.seen++
	if len(p.points) >= 2*maxLagPoints { // keep every other point from now on
		for i := range len(p.points) / 2 {
			p.points[i] = p.points[2*i]
		}
		p.points = p.points[:len(p.points)/2]
		p.stride *= 2
	}
	r.replBytes += size
}

// result is the plan's regions figures at the end.
func (g *regional) result(m *machine) *Regions {
	r := g.meas
	var ms simregions.Measures
	for i, x := range g.rg.List {
		ms.Regions = append(ms.Regions, simregions.RegionFigures{Name: x.Name, Notifications: r.notifications[i], Views: r.views[i]})
	}
	perUser := max(m.sc.Population.FilesPerUser, 1)
	for u, home := range g.userHome {
		homed := false
		for f := u * perUser; f < (u+1)*perUser; f++ {
			if !g.touched[f] {
				continue
			}
			homed = true
			ms.Regions[home].HomedFiles++
			for i := range ms.Regions {
				if v := g.held[i][f]; v > 0 {
					ms.Regions[i].Files++
					ms.Regions[i].StoredBytes += g.sizes[f][v-1]
				}
			}
		}
		if homed {
			ms.Regions[home].UsersHomed++
		}
	}
	for h, hr := range g.rg.List {
		for t, tr := range g.rg.List {
			p := &r.pairs[h*r.n+t]
			if p.applied+p.skipped == 0 {
				continue
			}
			pl := simregions.PairLag{Home: hr.Name, Region: tr.Name, Applied: p.applied, Skipped: p.skipped}
			if p.applied > 0 {
				pl.Max, pl.Mean = float64(p.max)/1e9, float64(p.sum)/float64(p.applied)/1e9
				// a histogram bucket's top may pass the exact max
				pl.P50, pl.P99 = min(seconds(p.lag.ValueAtQuantile(50)), pl.Max), min(seconds(p.lag.ValueAtQuantile(99)), pl.Max)
				pl.Points = thinPoints(p.points)
			}
			ms.Lag = append(ms.Lag, pl)
		}
	}
	ms.Staleness = simregions.Staleness{Reads: r.reads, Stale: r.stale, MaxVersions: r.maxVersions}
	if r.reads > 0 {
		ms.Staleness.Share = float64(r.stale) / float64(r.reads)
	}
	if r.stale > 0 {
		ms.Staleness.Max = float64(r.behindMax) / 1e9
		ms.Staleness.P50, ms.Staleness.P99 = min(seconds(r.behind.ValueAtQuantile(50)), ms.Staleness.Max), min(seconds(r.behind.ValueAtQuantile(99)), ms.Staleness.Max)
	}
	ms.ReplicationBytes, ms.UploadCrossBytes = r.replBytes, r.crossBytes
	return &Regions{Measures: ms, Duplicated: r.dups, Invocations: r.invocations, HandlerSeconds: float64(r.busyNs) / 1e9}
}

// seconds turns histogram microseconds into seconds.
func seconds(micros int64) float64 { return float64(micros) / 1e6 }

// thinPoints sorts a pair's points by commit time and keeps at most
// maxLagPoints, evenly spaced, the last included.
func thinPoints(ps [][2]float64) [][2]float64 {
	ps = slices.Clone(ps)
	slices.SortFunc(ps, func(a, b [2]float64) int { return cmp.Compare(a[0], b[0]) })
	if len(ps) <= maxLagPoints {
		return ps
	}
	out := make([][2]float64, 0, maxLagPoints)
	for i := range maxLagPoints {
		out = append(out, ps[i*(len(ps)-1)/(maxLagPoints-1)])
	}
	return out
}
