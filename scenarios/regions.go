package scenarios

import (
	"fmt"
	"math"
	"time"

	"github.com/stormsim/stormsim/coordinator"
)

// Regions is a multi-region run (docs/design.md, "Regions"): each region
// has its own storage, Redis and coordinator; a user's files are decided in
// the user's home region and replicated to the others.
type Regions struct {
	// List names the regions, in order. Each gets a share of the users as
	// their home, and each user has Devices devices connected to it.
	List []Region `yaml:"list"`
	// Latency is the one-way latency between two regions, both ways; every
	// pair of regions must be listed once. Within a region it is 0.
	Latency []Link `yaml:"latency"`
	// Pin, when set, homes every user in that region instead of spreading
	// users by the regions' users shares.
	Pin string `yaml:"pin"`
	// Reads is how many reads of a file a device makes from its own region
	// after each upload of that file by another device of its user (0..10,
	// default 1): what staleness and no-regression are measured on.
	Reads int `yaml:"reads"`
	// Replication tunes the replicator and its queue.
	Replication Replication `yaml:"replication"`
	// Faults are regional fault windows.
	Faults []RegionFault `yaml:"faults"`
}

// Region is one region of a multi-region run.
type Region struct {
	Name string `yaml:"name"`
	// Users is the share of users homed here (the shares must sum to 1;
	// ignored with pin).
	Users float64 `yaml:"users" unit:"fraction"`
	// Devices is how many devices of each user connect to this region;
	// the sum over regions is population.devices_per_user.
	Devices int `yaml:"devices"`
}

// Link is the latency between two regions.
type Link struct {
	From    string        `yaml:"from"`
	To      string        `yaml:"to"`
	Latency time.Duration `yaml:"latency"`
}

// Replication tunes the replicator (region.Config) and the queue its
// events travel through.
type Replication struct {
	// Attempts per event and target (default 6); Backoff the first wait
	// between them, doubled each time (default 100ms).
	Attempts int           `yaml:"attempts"`
	Backoff  time.Duration `yaml:"backoff"`
	// Concurrency is the number of replicator workers per home region
	// (default 8); QueueSize bounds each region's event queue (default 4096).
	Concurrency int `yaml:"concurrency"`
	QueueSize   int `yaml:"queue_size"`
}

// Regional fault kinds.
const (
	RegionFaultPartition   = "region-partition"      // region cannot reach, or be reached from, the others
	RegionFaultRedisDown   = "region-redis-down"     // region's Redis refuses every command
	RegionFaultStorageDown = "region-storage-down"   // region's S3 answers 503 to everyone
	RegionFaultQueueDelay  = "replication-delay"     // replication events wait latency more, with probability
	RegionFaultQueueDup    = "replication-duplicate" // replication events are delivered twice, the copy late, with probability
)

// RegionFaultKinds describes each regional fault kind and the fields it
// uses besides start and end.
var RegionFaultKinds = map[string]struct {
	Desc   string
	Fields []string
}{
	RegionFaultPartition:   {"region is cut off from every other region (devices connected to it still reach it)", []string{"region"}},
	RegionFaultRedisDown:   {"region's Redis refuses every command", []string{"region"}},
	RegionFaultStorageDown: {"region's S3 answers 503 to every request", []string{"region"}},
	RegionFaultQueueDelay:  {"replication events wait latency more, with probability", []string{"probability", "latency"}},
	RegionFaultQueueDup:    {"replication events are delivered twice (the copy up to latency late), with probability", []string{"probability", "latency"}},
}

// RegionFault is one regional fault window, offsets from the run's start.
type RegionFault struct {
	Kind        string        `yaml:"kind"`
	Region      string        `yaml:"region"`
	Start       time.Duration `yaml:"start"`
	End         time.Duration `yaml:"end"`
	Probability float64       `yaml:"probability" unit:"fraction"`
	Latency     time.Duration `yaml:"latency"`
}

// Defaults of the regions section.
const (
	DefaultRegionReads        = 1
	DefaultReplicationAttempt = 6
	DefaultReplicationBackoff = 100 * time.Millisecond
	DefaultReplicationWorkers = 8
	DefaultReplicationQueue   = 4096
)

// withDefaults fills the zero fields the file left unset.
func (r *Regions) withDefaults(set func(path string) bool) {
	if !set("regions.reads") {
		r.Reads = DefaultRegionReads
	}
	if r.Replication.Attempts == 0 {
		r.Replication.Attempts = DefaultReplicationAttempt
	}
	if r.Replication.Backoff == 0 {
		r.Replication.Backoff = DefaultReplicationBackoff
	}
	if r.Replication.Concurrency == 0 {
		r.Replication.Concurrency = DefaultReplicationWorkers
	}
	if r.Replication.QueueSize == 0 {
		r.Replication.QueueSize = DefaultReplicationQueue
	}
}

// Index returns the position of region name in List, or -1.
func (r *Regions) Index(name string) int {
	for i, g := range r.List {
		if g.Name == name {
			return i
		}
	}
	return -1
}

// LatencyBetween is the one-way latency from region a to region b.
func (r *Regions) LatencyBetween(a, b int) time.Duration {
	if a == b {
		return 0
	}
	for _, l := range r.Latency {
		x, y := r.Index(l.From), r.Index(l.To)
		if x == a && y == b || x == b && y == a {
			return l.Latency
		}
	}
	return 0
}

// regions validates the regions section and what a multi-region run
// cannot combine it with.
func (v *validator) regions(sc *Scenario) {
	r := sc.Regions
	r.withDefaults(v.set)
	n := len(r.List)
	v.check(n >= 2 && n <= 16, "regions.list", "must name 2 to 16 regions", n)
	seen := map[string]bool{}
	share, devices := 0.0, 0
	for i, g := range r.List {
		p := fmt.Sprintf("regions.list[%d]", i)
		switch {
		case !coordinator.ValidName(g.Name) || len(g.Name) > 32:
			v.errorf(p+".name", "must be 1..32 characters of [A-Za-z0-9._-], got %s", quote(g.Name))
		case seen[g.Name]:
			v.errorf(p+".name", "duplicate region %s", quote(g.Name))
		}
		seen[g.Name] = true
		v.prob(p+".users", g.Users)
		v.check(g.Devices >= 0 && g.Devices <= 1000, p+".devices", "must be in [0, 1000]", g.Devices)
		share += g.Users
		devices += g.Devices
	}
	if r.Pin == "" && n > 0 && math.Abs(share-1) > 1e-9 {
		v.errorf("regions.list", "users shares must sum to 1 (or set regions.pin), got %s", formatFloat(share))
	}
	if r.Pin != "" && !seen[r.Pin] {
		v.errorf("regions.pin", "must name a region of regions.list, got %s", quote(r.Pin))
	}
	if n > 0 && devices != sc.Population.DevicesPerUser {
		v.errorf("regions.list", "devices must sum to population.devices_per_user=%d, got %d", sc.Population.DevicesPerUser, devices)
	}
	pairs := map[[2]string]bool{}
	for i, l := range r.Latency {
		p := fmt.Sprintf("regions.latency[%d]", i)
		v.check(seen[l.From], p+".from", "must name a region of regions.list", l.From)
		v.check(seen[l.To], p+".to", "must name a region of regions.list", l.To)
		v.check(l.Latency >= 0 && l.Latency <= time.Minute, p+".latency", "must be in [0, 1m]", l.Latency)
		k := [2]string{min(l.From, l.To), max(l.From, l.To)}
		switch {
		case l.From == l.To:
			v.errorf(p+".to", "must differ from from (latency within a region is 0), got %s", quote(l.To))
		case pairs[k]:
			v.errorf(p, "pair %s-%s listed twice", l.From, l.To)
		}
		pairs[k] = true
	}
	for i := range r.List {
		for j := i + 1; j < n; j++ {
			a, b := r.List[i].Name, r.List[j].Name
			if a == b {
				continue // a duplicate name, reported above
			}
			if !pairs[[2]string{min(a, b), max(a, b)}] {
				v.errorf("regions.latency", "no latency for the pair %s-%s", a, b)
			}
		}
	}
	v.check(r.Reads >= 0 && r.Reads <= 10, "regions.reads", "must be in [0, 10]", r.Reads)
	rp := r.Replication
	v.check(rp.Attempts >= 1 && rp.Attempts <= 100, "regions.replication.attempts", "must be in [1, 100]", rp.Attempts)
	v.check(rp.Backoff > 0 && rp.Backoff <= time.Minute, "regions.replication.backoff", "must be in (0, 1m]", rp.Backoff)
	v.check(rp.Concurrency >= 1 && rp.Concurrency <= 1024, "regions.replication.concurrency", "must be in [1, 1024]", rp.Concurrency)
	v.check(rp.QueueSize >= 1 && rp.QueueSize <= 1_000_000, "regions.replication.queue_size", "must be in [1, 1000000]", rp.QueueSize)
	v.regionFaults(r, seen)
	// What a multi-region run does not model: devices stage with one PUT
	// and poll their home region at wait.poll.interval until
	// wait.poll.timeout; the staging queues deliver every event once.
	for _, p := range regionsUnsupported {
		if v.set(p) {
			v.errorf(p, "not supported with regions")
		}
	}
	for i, ph := range sc.Phases {
		if ph.Follow > 0 {
			v.errorf(fmt.Sprintf("phases[%d].follow", i), "not supported with regions")
		}
	}
	if sc.Scheduler != nil {
		v.errorf("scheduler", "not supported with regions")
	}
	if len(sc.Faults) > 0 {
		v.errorf("faults", "not supported with regions (use regions.faults)")
	}
	if sc.Model != "open" {
		v.errorf("model", "must be open with regions, got %s", quote(sc.Model))
	}
	if sc.Coordinator.Strategy != coordinator.StrategyRedisLock {
		v.errorf("coordinator.strategy", "must be %s with regions (replication reads the versions it keeps), got %s",
			coordinator.StrategyRedisLock, quote(string(sc.Coordinator.Strategy)))
	}
}

// regionsUnsupported are the fields a multi-region run does not use.
var regionsUnsupported = []string{
	"abort_on_fail", "closed",
	"wait.push", "wait.push_loss", "wait.push_delay",
	"wait.poll.first_delay", "wait.poll.backoff", "wait.poll.max_interval", "wait.poll.max_polls",
	"delivery.delay", "delivery.duplicate", "delivery.reorder",
	"sizes.multipart_threshold", "sizes.part_size",
}

func (v *validator) regionFaults(r *Regions, regions map[string]bool) {
	v.check(len(r.Faults) <= 100, "regions.faults", "at most 100 faults", len(r.Faults))
	for i, f := range r.Faults {
		p := fmt.Sprintf("regions.faults[%d]", i)
		k, ok := RegionFaultKinds[f.Kind]
		if !ok {
			v.oneOf(p+".kind", f.Kind, sortedKeys(RegionFaultKinds)...)
			continue
		}
		v.span(p+".start", f.Start, false)
		v.span(p+".end", f.End, true)
		if f.End <= f.Start {
			v.errorf(p+".end", "must be after start (%s), got %s", f.Start, v.got(p+".end", f.End))
		}
		v.unused(p, f.Kind, []string{"region", "probability", "latency"}, k.Fields)
		if contains(k.Fields, "region") {
			v.check(regions[f.Region], p+".region", "must name a region of regions.list", f.Region)
		}
		if contains(k.Fields, "probability") {
			v.prob(p+".probability", f.Probability)
			v.check(f.Probability > 0, p+".probability", "must be > 0", f.Probability)
		}
		if contains(k.Fields, "latency") {
			v.check(f.Latency > 0 && f.Latency <= time.Minute, p+".latency", "must be in (0, 1m]", f.Latency)
		}
	}
}
