package report

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/stormsim/stormsim/scenarios"
	"github.com/stormsim/stormsim/sim/history"
	"github.com/stormsim/stormsim/sim/regions"
)

// Regions is results.json "regions": a multi-region run's figures.
type Regions struct {
	// Regions lists where users' homes, files and bytes live.
	Regions []RegionRow `json:"regions"`
	// Lag is the replication lag per (home, region) pair.
	Lag []RegionLag `json:"lag"`
	// Staleness is over reads by devices connected to a non-home region.
	Staleness RegionStaleness `json:"staleness"`
	// ReplicationBytes were copied between regions by the replicators;
	// UploadCrossBytes were staged by devices in a home region from another.
	ReplicationBytes int64 `json:"replication_bytes"`
	UploadCrossBytes int64 `json:"upload_cross_bytes"`
	// Refused counts uploads whose home region was unreachable: refused at
	// the device with the reason, nothing accepted (history kind refused).
	Refused int64 `json:"refused"`
	// ReplicationFailed counts replica records whose attempts ran out;
	// ReplicationDuplicated, events the queue delivered twice.
	ReplicationFailed     int64 `json:"replication_failed"`
	ReplicationDuplicated int64 `json:"replication_duplicated"`
	// Recovered is the lag, over every pair, of versions committed after
	// the last regional outage (partition, storage or Redis down) ended:
	// whether replication returned to normal. Absent without such a fault.
	Recovered *RecoveredLag `json:"recovered,omitempty"`
}

// RecoveredLag is the lag after the last regional outage.
type RecoveredLag struct {
	Count int     `json:"count"`
	P50   float64 `json:"p50_seconds"`
	P99   float64 `json:"p99_seconds"`
	Max   float64 `json:"max_seconds"`
}

// RegionRow is one region.
type RegionRow struct {
	Name          string `json:"name"`
	UsersHomed    int    `json:"users_homed"`
	FilesHomed    int    `json:"files_homed"`
	FilesHeld     int    `json:"files_held"`
	StoredBytes   int64  `json:"stored_bytes"`
	Notifications int    `json:"notifications"`
	Reads         int    `json:"reads"`
}

// RegionLag is the lag from a commit at Home to its copy applied in Region.
type RegionLag struct {
	Home    string  `json:"home"`
	Region  string  `json:"region"`
	Applied int     `json:"applied"`
	Skipped int     `json:"skipped"`
	Failed  int     `json:"failed"`
	P50     float64 `json:"p50_seconds"`
	P99     float64 `json:"p99_seconds"`
	Max     float64 `json:"max_seconds"`
	Mean    float64 `json:"mean_seconds"`
	// Points are [seconds since the first commit, lag seconds].
	Points [][2]float64 `json:"points,omitempty"`
}

// RegionStaleness is how far non-home reads were behind home.
type RegionStaleness struct {
	Reads       int     `json:"reads"`
	Stale       int     `json:"stale"`
	Share       float64 `json:"share"`
	P50         float64 `json:"p50_seconds"`
	P99         float64 `json:"p99_seconds"`
	Max         float64 `json:"max_seconds"`
	MaxVersions int64   `json:"max_versions"`
}

// BuildRegions builds results.json for a multi-region run. Upload counts
// come from the devices' upload records; the cost is every region's
// (regionsCost) plus the inter-region transfer.
func BuildRegions(res *regions.Result, sc *scenarios.Scenario, rerun string, opts ...BuildOption) *Results {
	cfg := buildOptions(opts)
	r := &Results{Scenario: res.Scenario, Seed: res.Seed, WorkloadHash: res.WorkloadHash, Strategy: string(sc.Coordinator.Strategy),
		Started: res.Started, DurationSeconds: res.Elapsed.Seconds(), Rerun: rerun, Invariants: []Invariant{},
		Reconciled: int64(res.Reconciled), Partial: res.Interrupted}
	u := &r.Uploads
	for _, up := range res.History.Uploads {
		switch up.Outcome {
		case history.OutcomeCommitted:
			u.Committed++
			u.MaxVersion = max(u.MaxVersion, up.Version)
			if up.Version >= 2 {
				u.CommittedV2Plus++
			}
		case history.OutcomeConflict:
			u.Conflict++
		case history.OutcomeRejected:
			u.Rejected++
		case history.OutcomeError:
			u.Error++
		default:
			u.Unknown++
		}
		u.Bytes += up.Size
	}
	u.Total = u.Committed + u.Conflict + u.Rejected + u.Error + u.Unknown
	pendingFrom(u, res.Check)
	r.Polls, r.Latency = regionUploadFigures(res.History.Uploads)
	r.Throughput.PlannedRate = res.PlannedRate
	if w := res.Window.Seconds(); w > 0 {
		r.Throughput.AchievedRate = float64(res.Launched) / w
		if res.PlannedRate > 0 {
			r.Throughput.AchievedRatio = r.Throughput.AchievedRate / res.PlannedRate
		}
	}
	if el := res.Elapsed.Seconds(); el > 0 {
		r.Throughput.CommitsPerSecond = float64(u.Committed) / el
		r.Throughput.UploadsPerSecond = float64(u.Total) / el
	}
	r.Invariants = appendInvariants(r.Invariants, res.Check)
	r.Regions = regionsFrom(res)
	r.Cost = regionsCost(res, r, len(sc.Regions.List), cfg.prices)
	r.Gates = EvalGates(sc.ParsedGates, r)
	var fail []string
	for _, inv := range r.Invariants {
		if inv.Violations > 0 {
			fail = append(fail, fmt.Sprintf("invariant %s: %d violation(s), e.g. %s", inv.Name, inv.Violations, strings.Join(first(inv.Examples, 3), ", ")))
		}
	}
	for _, g := range r.Gates {
		if !g.OK {
			fail = append(fail, fmt.Sprintf("gate %q: measured %s", g.Expr, measured(g.Expr, g.Value)))
		}
	}
	// Every launched upload ends as an upload record or a refused one (its
	// home unreachable): one that left neither was lost without a word.
	if lost := res.Launched - int64(len(res.History.Uploads)) - res.Refused; lost > 0 && !res.Interrupted {
		fail = append(fail, fmt.Sprintf("%d upload(s) launched but neither recorded nor refused: lost silently", lost))
	}
	switch {
	case len(fail) > 0:
		r.Verdict, r.Reasons = Fail, fail
	case res.Interrupted:
		r.Verdict, r.Reasons = Inconclusive, []string{"the run was interrupted"}
	case res.Check.Inconclusive || res.DrainTimeout:
		r.Verdict, r.Reasons = Inconclusive, []string{"the check was inconclusive or the drain timed out"}
	default:
		r.Verdict, r.Reasons = Pass, []string{}
	}
	return r
}

// regionsCost prices a multi-region run: every region's S3 requests,
// handler invocations (coordinators and replicators) and result API polls
// as in a single-region run, a Redis node per region for the run, the
// bytes stored in every region, and the bytes sent between regions
// (replication and uploads staged at a remote home) at
// transfer.inter_region_gb.
func regionsCost(res *regions.Result, r *Results, nRegions int, prices *Prices) *Cost {
	var stored int64
	for _, g := range r.Regions.Regions {
		stored += g.StoredBytes
	}
	c := prices.Cost(Usage{Uploads: r.Uploads.Total, Invocations: res.Invocations, HandlerSeconds: res.HandlerSeconds,
		S3: res.S3Ops, StoredBytes: stored, RedisSeconds: res.RunElapsed.Seconds() * float64(nRegions),
		Polls: r.Polls.Total})
	addInterRegion(c, r.Regions, r.Uploads.Total, prices)
	return c
}

// addInterRegion prices the bytes sent between regions (replication and
// uploads staged at a remote home) at transfer.inter_region_gb.
func addInterRegion(c *Cost, g *Regions, uploads int64, prices *Prices) {
	gb := float64(g.ReplicationBytes+g.UploadCrossBytes) / gib
	if gb <= 0 {
		return
	}
	c.Quantities["inter_region_transfer"] = gb
	c.Items["inter_region_transfer"] = gb * prices.Transfer.InterRegionGB
	c.Total = 0
	for _, k := range sortedKeys(c.Items) { // the order Cost sums in
		c.Total += c.Items[k]
	}
	if uploads > 0 {
		c.Per1000 = c.Total / float64(uploads) * 1000
	}
}

// regionsPlan is a multi-region plan's figures for Build (WithRegions).
type regionsPlan struct {
	figures        *Regions
	invocations    int64
	handlerSeconds float64
}

// WithRegions gives Build a multi-region plan's regions figures
// (RegionsFigures) and its replicators' invocations and handler seconds:
// results.json "regions", gates on regions.* metrics, and the cost of
// every region's Redis node, the replicators and the inter-region
// transfer.
func WithRegions(g *Regions, invocations int64, handlerSeconds float64) BuildOption {
	return func(c *buildConfig) {
		c.regions = &regionsPlan{figures: g, invocations: invocations, handlerSeconds: handlerSeconds}
	}
}

// apply adds the regions' usage to a run's and returns the figures.
func (p *regionsPlan) apply(u *Usage) *Regions {
	u.Invocations += p.invocations
	u.HandlerSeconds += p.handlerSeconds
	u.RedisSeconds *= float64(max(len(p.figures.Regions), 1)) // a node per region
	var stored int64
	for _, g := range p.figures.Regions {
		stored += g.StoredBytes
	}
	if stored > 0 { // what every region holds, as a regions run prices it
		u.StoredBytes = stored
	}
	return p.figures
}

// regionUploadFigures derives polls per upload and latency (planned instant to
// outcome known, decided uploads) from the upload records.
func regionUploadFigures(ups []history.Upload) (Polls, Latency) {
	var polls, lat []float64
	var zero, total int64
	for _, u := range ups {
		polls = append(polls, float64(u.Polls))
		total += int64(u.Polls)
		if u.Polls == 0 {
			zero++
		}
		if u.Outcome != history.OutcomeUnknown && !u.Done.IsZero() {
			lat = append(lat, u.Done.Sub(u.Intended).Seconds())
		}
	}
	var p Polls
	if len(polls) > 0 {
		slices.Sort(polls)
		p = Polls{Mean: float64(total) / float64(len(polls)), P50: rank(polls, 0.5), P99: rank(polls, 0.99),
			Max: polls[len(polls)-1], ZeroShare: float64(zero) / float64(len(polls)), Total: total}
	}
	var l Latency
	if len(lat) > 0 {
		slices.Sort(lat)
		sum := 0.0
		for _, x := range lat {
			sum += x
		}
		l = Latency{Count: int64(len(lat)), Mean: sum / float64(len(lat)), P50: rank(lat, 0.5), P90: rank(lat, 0.9),
			P99: rank(lat, 0.99), P999: rank(lat, 0.999), Max: lat[len(lat)-1]}
	}
	return p, l
}

// rank is the q-quantile of sorted xs (nearest rank).
func rank(xs []float64, q float64) float64 {
	return xs[min(max(int(math.Ceil(q*float64(len(xs))))-1, 0), len(xs)-1)]
}

func regionsFrom(res *regions.Result) *Regions {
	return RegionsFigures(res.Regions, res.Refused, res.ReplicationDuplicated)
}

// RegionsFigures is results.json "regions" from a multi-region run's
// measures (or a plan's), with the uploads refused and the replication
// events delivered twice.
func RegionsFigures(m regions.Measures, refused, duplicated int64) *Regions {
	out := &Regions{ReplicationBytes: m.ReplicationBytes, UploadCrossBytes: m.UploadCrossBytes,
		Refused: refused, ReplicationDuplicated: duplicated, Regions: []RegionRow{}, Lag: []RegionLag{}}
	for _, g := range m.Regions {
		out.Regions = append(out.Regions, RegionRow{Name: g.Name, UsersHomed: g.UsersHomed, FilesHomed: g.HomedFiles,
			FilesHeld: g.Files, StoredBytes: g.StoredBytes, Notifications: g.Notifications, Reads: g.Views})
	}
	for _, l := range m.Lag {
		out.Lag = append(out.Lag, RegionLag{Home: l.Home, Region: l.Region, Applied: l.Applied, Skipped: l.Skipped,
			Failed: l.Failed, P50: l.P50, P99: l.P99, Max: l.Max, Mean: l.Mean, Points: l.Points})
		out.ReplicationFailed += int64(l.Failed)
	}
	if rc := m.Recovered; rc.Count > 0 {
		out.Recovered = &RecoveredLag{Count: rc.Count, P50: rc.P50, P99: rc.P99, Max: rc.Max}
	}
	s := m.Staleness
	out.Staleness = RegionStaleness{Reads: s.Reads, Stale: s.Stale, Share: s.Share, P50: s.P50, P99: s.P99, Max: s.Max,
		MaxVersions: s.MaxVersions}
	return out
}

// regionsMetric reads a regions.* gate metric: absent unless the run had
// regions; f says whether the figure has samples.
func regionsMetric(f func(*Regions) (float64, bool)) metricReader {
	return func(r *Results) (float64, bool) {
		if r.Regions == nil {
			return 0, false
		}
		return f(r.Regions)
	}
}

// worstLag reads a lag figure of the worst region pair that applied at
// least one version.
func worstLag(f func(RegionLag) float64) metricReader {
	return regionsMetric(func(g *Regions) (float64, bool) {
		v, any := 0.0, false
		for _, l := range g.Lag {
			if l.Applied > 0 {
				v, any = math.Max(v, f(l)), true
			}
		}
		return v, any
	})
}
