package model

import (
	"fmt"
	"math/rand/v2"

	"github.com/stormsim/stormsim/scenarios"
	simregions "github.com/stormsim/stormsim/sim/regions"
	"github.com/stormsim/stormsim/sim/workload"
)

// A multi-region plan (a scenario with regions:) plays what sim/regions
// runs: every region has its own handler pool and Redis (the profile's
// figures, the same in each), a user's files are decided in the user's
// home region, and a device in another region reads its own region's copy
// (its base), then stages at home across the latency matrix and polls the
// home region's result (a round trip each). Each committed version's
// replication event goes through its home region's queue to the
// replicator (replicate.go), which copies it to every other region and
// notifies the devices there, who read the file.
//
// Not modelled: regional outages (partition, storage or Redis down:
// regionsModelled refuses them), the replication queue's bound (a full
// queue makes the coordinator wait in a run), the replicator's calls on
// the home region's and the targets' Redis (a PUBLISH each).

// regionsModelled refuses the regional faults a plan does not model.
func regionsModelled(rg *scenarios.Regions) error {
	for i, f := range rg.Faults {
		switch f.Kind {
		case scenarios.RegionFaultQueueDelay, scenarios.RegionFaultQueueDup:
		default:
			return fmt.Errorf("%w: regions.faults[%d].kind %s: a plan models the replication queue's faults (%s, %s), not regional outages; run the scenario with simrun",
				ErrNotModelled, i, f.Kind, scenarios.RegionFaultQueueDelay, scenarios.RegionFaultQueueDup)
		}
	}
	return nil
}

// regional is what a multi-region plan adds to the machine.
type regional struct {
	rg        *scenarios.Regions
	n         int
	userHome  []int   // each user's home region (sim/regions.Homes)
	fileHome  []uint8 // each file's
	devRegion []uint8 // each device index's region (sim/regions.DeviceRegion)
	lat       [][]int64
	reads     []int // devices reading a file after a notification, per region

	// the replicator's calls and the devices' reads
	head, get, put, publish func(*rand.Rand) int64
	readBW                  float64
	r, fate                 *rand.Rand

	// per region and file: the version its final key holds, and how many
	// writes it took (the ETag a conditional PUT is checked against)
	held   [][]int32
	writes [][]uint32
	// per file: each version's commit instant and size (index version-1)
	commits [][]int64
	sizes   [][]int64
	touched []bool

	queues  []replQueue // one per home region
	workers int
	jobs    slab[replJob]
	notices slab[notice]
	meas    *regionMeasure
}

// regions sets the machine up for sc.Regions and returns the notes a plan
// reports about it.
func (m *machine) regions(seed uint64) []string {
	sc, p := m.sc, m.profile
	rg := sc.Regions
	n := len(rg.List)
	st := workload.NewStreams(seed)
	g := &regional{rg: rg, n: n, userHome: simregions.Homes(sc, st.New(simregions.HomesStream)),
		fileHome: make([]uint8, len(m.files)), head: sampler(p.op("s3.head")), get: sampler(p.op("s3.get")),
		put: sampler(p.op("s3.put")), publish: sampler(p.op("redis.publish")), readBW: p.S3ReadBytesPerSecond,
		r: st.New("model-regions"), fate: st.New(simregions.ReplicationStream),
		commits: make([][]int64, len(m.files)), sizes: make([][]int64, len(m.files)), touched: make([]bool, len(m.files)),
		queues: make([]replQueue, n), workers: rg.Replication.Concurrency}
	perUser := max(sc.Population.FilesPerUser, 1)
	for f := range g.fileHome {
		g.fileHome[f] = uint8(g.userHome[f/perUser])
	}
	for d := range max(sc.Population.DevicesPerUser, 1) {
		g.devRegion = append(g.devRegion, uint8(simregions.DeviceRegion(rg, d)))
	}
	for i, r := range rg.List {
		row := make([]int64, n)
		for j := range n {
			row[j] = int64(rg.LatencyBetween(i, j))
		}
		g.lat = append(g.lat, row)
		g.reads = append(g.reads, min(rg.Reads, r.Devices))
		g.held = append(g.held, make([]int32, len(m.files)))
		g.writes = append(g.writes, make([]uint32, len(m.files)))
	}
	g.meas = newRegionMeasure(rg)
	m.reg = g
	// Each region its own handler pool and Redis nodes, the profile's.
	m.pools = []*pool{m.pool}
	for i := 1; i < n; i++ {
		m.pools = append(m.pools, newPool(p, sc.Coordinator.Concurrency, st.New(fmt.Sprintf("model-handlers-%d", i))))
	}
	m.redis.perRegion(n, g.fileHome)
	// A regions run's staging events reach the coordinator as the PUT
	// lands: no delivery delay, duplicates or reordering (delivery: is not
	// supported with regions); the platform's own delay stays.
	m.delay = sampler(scenarios.Dist{})
	interval, timeout := simregions.PollSchedule(sc)
	m.dev.regionsPolicy(interval, timeout)
	notes := []string{fmt.Sprintf("regions: %d regions, each with its own handler pool and %d Redis node(s) of profile %s; devices poll their home region every %s until %s (no push), as a regions run does",
		n, p.Redis.Shards, p.Name, interval, timeout),
		"regions: concurrency_limit and max_concurrency are one region's (the busiest); invocations, cold starts, throttles and the pool chart sum every region's",
		"regions: not modelled: regional outages, the replication queue's bound, the replicator's Redis PUBLISH load, the setup's own CPU contention (the profile's cpu section); the copy streams at s3_read_bytes_per_second"}
	for _, op := range []string{"s3.head", "s3.put", "redis.publish"} {
		if p.op(op).Kind == "" {
			notes = append(notes, fmt.Sprintf("profile %s has no latency for %s (the replicator's): taken as 0", p.Name, op))
		}
	}
	return notes
}

// arrive is a device's read of its own region before an upload at now:
// the view is recorded, the base taken from it, and the staging PUT will
// cross to the home region (cross: the round trip it adds). It returns
// when the read answered.
func (g *regional) arrive(m *machine, u *upload, a workload.Arrival, now int64) (int64, int64) {
	u.at, u.home = g.devRegion[a.Device], g.fileHome[u.file]
	g.touched[u.file] = true
	m.c.s3[opHead]++
	v := g.view(now, u.at, u.file, m.files[u.file].head)
	u.base = max(v-int32(a.Stale), 0)
	if l := g.lat[u.at][u.home]; l > 0 {
		g.meas.crossBytes += a.Size
		return now + g.head(g.r), 2 * l
	}
	return now + g.head(g.r), 0
}

// view is a device connected to region reading file f at now: the version
// the region holds, measured against the home head.
func (g *regional) view(now int64, region uint8, f int32, homeHead int32) int32 {
	v := g.held[region][f]
	g.meas.views[region]++
	if region != g.fileHome[f] {
		behind := int64(-1)
		if v < homeHead {
			behind = now - g.commits[f][v] // since the first version it does not show
		}
		g.meas.staleRead(behind, int64(homeHead-v))
	}
	return v
}

// committed records a commit at home at now: the home region's final key
// holds it from then on.
func (g *regional) committed(now int64, u *upload) {
	f := u.file
	g.commits[f] = append(g.commits[f], now)
	g.sizes[f] = append(g.sizes[f], u.size)
	g.held[u.home][f], g.writes[u.home][f] = u.version, g.writes[u.home][f]+1
	g.meas.commit(now)
}

// handle dispatches a regions event.
func (g *regional) handle(m *machine, now int64, e event) {
	switch e.kind {
	case evReplicate:
		g.queued(m, now, e.id)
	case evReplStep:
		g.step(m, now, e.id)
	case evNotify:
		g.notified(m, now, e.id)
	}
}

// poolSeries is the plan chart's handler pool: every region's, summed.
func poolSeries(pools []*pool) []PoolSecond {
	if len(pools) == 1 {
		return pools[0].series
	}
	var out []PoolSecond
	for _, p := range pools {
		for i, s := range p.series {
			if i == len(out) {
				out = append(out, PoolSecond{})
			}
			o := &out[i]
			o.Concurrency += s.Concurrency
			o.Envs += s.Envs
			o.Throttles += s.Throttles
			o.ColdStarts += s.ColdStarts
			o.Waiting += s.Waiting
		}
	}
	return out
}
