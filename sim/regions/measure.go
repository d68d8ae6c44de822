package regions

import (
	"cmp"
	"math"
	"slices"
	"time"

	"github.com/stormsim/stormsim/scenarios"
	"github.com/stormsim/stormsim/sim/history"
)

// Measures are a multi-region run's figures, computed from its history
// alone (so `simrun check` and a re-read history give the same numbers).
type Measures struct {
	Regions []RegionFigures
	// Lag is the replication lag of each (home, region) pair that
	// replicated something, in list order.
	Lag []PairLag
	// Staleness is over reads by devices connected to a region other
	// than their user's home.
	Staleness Staleness
	// ReplicationBytes were copied between regions by the replicators;
	// UploadCrossBytes were staged by devices in their user's home region
	// from another region.
	ReplicationBytes int64
	UploadCrossBytes int64
	// Recovered is the lag of versions committed after the last regional
	// fault window (partition, storage or Redis down) ended, over every
	// pair: whether replication returned to normal. Zero samples (Count 0)
	// when the run had no such fault or nothing was committed after it.
	Recovered LagFigures
}

// LagFigures summarise lag samples (seconds).
type LagFigures struct {
	Count         int
	P50, P99, Max float64
}

// RegionFigures describe one region.
type RegionFigures struct {
	Name          string
	UsersHomed    int   // users homed here (of those whose files were touched)
	HomedFiles    int   // files whose user is homed here
	Files         int   // files the region holds after the drain
	StoredBytes   int64 // bytes of those files
	Notifications int   // replication notifications received here
	Views         int   // reads by devices connected here
}

// PairLag is the lag from a commit at home to its version applied in
// another region.
type PairLag struct {
	Home, Region        string
	Applied             int
	Skipped, Failed     int
	P50, P99, Max, Mean float64 // seconds
	// Points are (seconds since the first commit, lag seconds) of each
	// applied version, for the lag chart (at most maxPoints, evenly
	// thinned).
	Points [][2]float64
}

// Staleness is how far behind home a non-home region's reads were.
type Staleness struct {
	Reads int
	Stale int     // reads older than the home head when they began
	Share float64 // Stale / Reads
	// Seconds behind: from the commit of the first version the read did
	// not show to the read's start.
	P50, P99, Max float64
	MaxVersions   int64 // most versions a read was behind
}

const maxPoints = 2000

// Measure computes the figures of a multi-region history.
func Measure(s *history.Set, rg *scenarios.Regions) Measures {
	var m Measures
	idx := map[string]int{}
	for i, g := range rg.List {
		idx[g.Name] = i
		m.Regions = append(m.Regions, RegionFigures{Name: g.Name})
	}
	region := func(name string) *RegionFigures {
		if i, ok := idx[name]; ok {
			return &m.Regions[i]
		}
		return &RegionFigures{}
	}
	commitAt := map[fileVersion]time.Time{}
	var first time.Time
	for _, c := range s.Commits {
		commitAt[fileVersion{fileKey{c.User, c.Path}, c.Version}] = c.At
		if first.IsZero() || c.At.Before(first) {
			first = c.At
		}
	}
	users := map[string]bool{}
	for _, rf := range s.RegionFinals {
		if rf.Region == rf.Home {
			region(rf.Home).HomedFiles++
			if !users[rf.User] {
				users[rf.User] = true
				region(rf.Home).UsersHomed++
			}
		}
		if rf.Found {
			r := region(rf.Region)
			r.Files++
			r.StoredBytes += rf.Size
		}
	}
	for _, n := range s.Notifies {
		region(n.Region).Notifications++
	}
	m.Lag = lags(s, rg, commitAt, first)
	m.Recovered = recovered(s, commitAt)
	for _, r := range s.Replicas {
		if r.Outcome == history.ReplicaApplied {
			m.ReplicationBytes += r.Bytes
		}
	}
	var behind []float64
	for _, v := range s.Views {
		region(v.Region).Views++
		if v.Region == v.Home {
			continue
		}
		m.Staleness.Reads++
		if v.Version >= v.HomeHead {
			continue
		}
		m.Staleness.Stale++
		m.Staleness.MaxVersions = max(m.Staleness.MaxVersions, v.HomeHead-v.Version)
		if at, ok := commitAt[fileVersion{fileKey{v.User, v.Path}, v.Version + 1}]; ok {
			behind = append(behind, max(v.Start.Sub(at).Seconds(), 0))
		}
	}
	if m.Staleness.Reads > 0 {
		m.Staleness.Share = float64(m.Staleness.Stale) / float64(m.Staleness.Reads)
	}
	m.Staleness.P50, m.Staleness.P99, m.Staleness.Max, _ = quantiles(behind)
	return m
}

// lags groups applied replicas by (home, region) pair.
func lags(s *history.Set, rg *scenarios.Regions, commitAt map[fileVersion]time.Time, first time.Time) []PairLag {
	type pair struct{ home, region string }
	by := map[pair]*PairLag{}
	samples := map[pair][]float64{}
	for _, r := range s.Replicas {
		p := pair{r.Home, r.Region}
		pl := by[p]
		if pl == nil {
			pl = &PairLag{Home: r.Home, Region: r.Region}
			by[p] = pl
		}
		switch r.Outcome {
		case history.ReplicaSkipped:
			pl.Skipped++
			continue
		case history.ReplicaFailed:
			pl.Failed++
			continue
		}
		pl.Applied++
		at, ok := commitAt[fileVersion{fileKey{r.User, r.Path}, r.Version}]
		if !ok {
			continue
		}
		lag := max(r.At.Sub(at).Seconds(), 0)
		samples[p] = append(samples[p], lag)
		pl.Points = append(pl.Points, [2]float64{at.Sub(first).Seconds(), lag})
	}
	var out []PairLag
	for _, h := range rg.List {
		for _, t := range rg.List {
			pl := by[pair{h.Name, t.Name}]
			if pl == nil {
				continue
			}
			pl.P50, pl.P99, pl.Max, pl.Mean = quantiles(samples[pair{h.Name, t.Name}])
			slices.SortFunc(pl.Points, func(a, b [2]float64) int { return cmp.Compare(a[0], b[0]) })
			pl.Points = thin(pl.Points, maxPoints)
			out = append(out, *pl)
		}
	}
	return out
}

// recovered is the lag of versions committed after the last regional
// outage ended.
func recovered(s *history.Set, commitAt map[fileVersion]time.Time) LagFigures {
	var end time.Time
	for _, f := range s.Faults {
		switch f.Kind {
		case scenarios.RegionFaultPartition, scenarios.RegionFaultStorageDown, scenarios.RegionFaultRedisDown:
			if f.To.After(end) {
				end = f.To
			}
		}
	}
	if end.IsZero() {
		return LagFigures{}
	}
	var xs []float64
	for _, r := range s.Replicas {
		at, ok := commitAt[fileVersion{fileKey{r.User, r.Path}, r.Version}]
		if r.Outcome == history.ReplicaApplied && ok && at.After(end) {
			xs = append(xs, max(r.At.Sub(at).Seconds(), 0))
		}
	}
	p50, p99, mx, _ := quantiles(xs)
	return LagFigures{Count: len(xs), P50: p50, P99: p99, Max: mx}
}

// quantiles returns p50, p99, max and mean of xs (zeros when empty).
func quantiles(xs []float64) (p50, p99, mx, mean float64) {
	if len(xs) == 0 {
		return 0, 0, 0, 0
	}
	s := slices.Sorted(slices.Values(xs))
	at := func(q float64) float64 { return s[min(int(math.Ceil(q*float64(len(s))))-1, len(s)-1)] }
	sum := 0.0
	for _, x := range s {
		sum += x
	}
	return at(0.5), at(0.99), s[len(s)-1], sum / float64(len(s))
}

// thin keeps at most n points, evenly spaced, the last included.
func thin(ps [][2]float64, n int) [][2]float64 {
	if len(ps) <= n {
		return ps
	}
	out := make([][2]float64, 0, n)
	for i := range n {
		out = append(out, ps[i*(len(ps)-1)/(n-1)])
	}
	return out
}
