package scenarios

import (
	"fmt"
	"strings"
	"time"

	"github.com/stormsim/stormsim/coordinator"
	"github.com/stormsim/stormsim/internal/yamlconf"
)

// Sanity bounds: generous for real use, tight enough that planning cannot
// overflow or run for ever.
const (
	maxSpan     = 7 * 24 * time.Hour // any one duration of an upload run
	maxCount    = 1_000_000_000
	maxRate     = 1_000_000 // arrivals per second
	maxPhases   = 1000
	maxPartSize = 5 * GiB
	minPartSize = 5 * MiB
)

// validator checks a decoded scenario, naming fields by the dotted paths
// the decoder recorded lines for.
type validator struct {
	file  string
	lines map[string]int
	raw   map[string]string
	errs  ErrorList
}

// line returns the line of path, or of its nearest ancestor in the file.
func (v *validator) line(path string) int { return yamlconf.NearestLine(v.lines, path) }

// set reports whether the file itself set path.
func (v *validator) set(path string) bool {
	_, ok := v.lines[path]
	return ok
}

func (v *validator) errorf(path, format string, args ...any) {
	if len(v.errs) < maxErrors {
		v.errs = append(v.errs, fieldError(v.file, v.line(path), path, fmt.Sprintf(format, args...)))
	}
}

// got formats the value at path for a message, as written when possible.
func (v *validator) got(path string, val any) string {
	switch x := val.(type) {
	case string:
		return quote(x)
	}
	if r, ok := v.raw[path]; ok {
		return r
	}
	switch x := val.(type) {
	case float64:
		return formatFloat(x)
	case time.Duration:
		return x.String()
	}
	return fmt.Sprint(val)
}

// check adds "PATH: MSG, got VALUE" unless ok.
func (v *validator) check(ok bool, path, msg string, val any) {
	if !ok {
		v.errorf(path, "%s, got %s", msg, v.got(path, val))
	}
}

func (v *validator) prob(path string, x float64) {
	v.check(x >= 0 && x <= 1, path, "must be in [0, 1]", x)
}

func (v *validator) span(path string, d time.Duration, positive bool) {
	if positive {
		v.check(d > 0, path, "must be > 0", d)
	} else {
		v.check(d >= 0, path, "must be >= 0", d)
	}
	v.check(d <= maxSpan, path, "must be <= "+maxSpan.String(), d)
}

func (v *validator) oneOf(path, s string, options ...string) bool {
	for _, o := range options {
		if s == o {
			return true
		}
	}
	if s == "" {
		v.errorf(path, "required, one of %s", strings.Join(options, ", "))
	} else {
		v.errorf(path, "must be one of %s, got %s", strings.Join(options, ", "), quote(s))
	}
	return false
}

// unused reports fields the file set that kind does not use.
func (v *validator) unused(path, kind string, fields, uses []string) {
	for _, f := range fields {
		p := path + "." + f
		if v.set(p) && !contains(uses, f) {
			what := "it uses " + strings.Join(uses, ", ")
			if len(uses) == 0 {
				what = "it takes no settings"
			}
			v.errorf(p, "not used by kind %s (%s)", quote(kind), what)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (v *validator) scenario(sc *Scenario) {
	v.span("duration", sc.Duration, false)
	v.check(sc.Uploads >= 0 && sc.Uploads <= maxCount, "uploads", fmt.Sprintf("must be in [0, %d]", maxCount), sc.Uploads)
	v.span("drain", sc.Drain, false)
	if v.oneOf("model", sc.Model, "open", "closed") {
		if sc.Model == "open" {
			v.phases(sc)
			if v.set("closed") {
				v.errorf("closed", "only used when model is closed")
			}
		} else {
			v.closed(sc)
		}
	}
	v.population(&sc.Population)
	v.sizes(&sc.Sizes)
	v.wait(&sc.Wait)
	v.coordinator(&sc.Coordinator)
	if c := sc.Coordinator; c.ResultTTL > 0 && c.ResultTTL < sc.Wait.Poll.Timeout+time.Minute {
		// A result that expires while its device still waits reads as lost.
		v.errorf("coordinator.result_ttl", "must be >= wait.poll.timeout + 1m (%s), got %s",
			sc.Wait.Poll.Timeout+time.Minute, v.got("coordinator.result_ttl", c.ResultTTL))
	}
	v.delivery(&sc.Delivery)
	v.storage(sc)
	if sc.Scheduler != nil {
		v.scheduler(sc.Scheduler)
	}
	v.faults(sc.Faults, sc.Phases)
	if sc.Regions != nil {
		v.regions(sc)
	}
	v.gates(sc)
	if sc.Plan != nil {
		v.plan(sc.Plan)
	}
}

// plan checks the capacity-planning section; the profile itself is read
// and checked by `simrun plan`.
func (v *validator) plan(p *Plan) {
	v.check(p.Profile != "", "plan.profile", "must name a profile", p.Profile)
	for path, n := range map[string]int{"plan.account_concurrency": p.AccountConcurrency, "plan.reserved_concurrency": p.ReservedConcurrency,
		"plan.scale_per_10s": p.ScalePer10s, "plan.redis_shards": p.RedisShards} {
		v.check(n >= 0 && n <= 10_000_000, path, "must be in [0, 10000000]", n)
	}
	if v.set("plan.cold_start") {
		v.dist("plan.cold_start", p.ColdStart, unitSeconds, 0)
	}
	for i, o := range p.Ops {
		path := fmt.Sprintf("plan.ops[%d]", i)
		v.check(o.Op != "", path+".op", "must name an op", o.Op)
		v.dist(path, o.Dist, unitSeconds, 0)
	}
}

var phaseFields = []string{"rate", "from", "to", "duration", "count", "at"}

func (v *validator) phases(sc *Scenario) {
	if len(sc.Phases) == 0 {
		if sc.Scheduler == nil {
			v.errorf("phases", "at least one phase is required (or a scheduler section)")
		}
		return
	}
	if len(sc.Phases) > maxPhases {
		v.errorf("phases", "at most %d phases, got %d", maxPhases, len(sc.Phases))
		return
	}
	names := map[string]string{}
	for i := range sc.Phases {
		ph := &sc.Phases[i]
		p := fmt.Sprintf("phases[%d]", i)
		v.span(p+".duration", ph.Duration, false)
		v.check(ph.Count >= 0 && ph.Count <= maxCount, p+".count", fmt.Sprintf("must be in [0, %d]", maxCount), ph.Count)
		bounded := ph.Duration > 0 || ph.Count > 0
		v.prob(p+".follow", ph.Follow)
		switch ph.Kind {
		case "constant", "poisson":
			v.unused(p, ph.Kind, phaseFields, []string{"rate", "duration", "count"})
			v.check(ph.Rate > 0, p+".rate", "must be > 0", ph.Rate)
			v.check(ph.Rate <= maxRate, p+".rate", fmt.Sprintf("must be <= %d", maxRate), ph.Rate)
		case "ramp":
			v.unused(p, ph.Kind, phaseFields, []string{"from", "to", "duration"})
			v.check(ph.From >= 0 && ph.From <= maxRate, p+".from", fmt.Sprintf("must be in [0, %d]", maxRate), ph.From)
			v.check(ph.To >= 0 && ph.To <= maxRate, p+".to", fmt.Sprintf("must be in [0, %d]", maxRate), ph.To)
			if ph.From == 0 && ph.To == 0 {
				v.errorf(p+".to", "from and to must not both be 0")
			}
			v.check(ph.Duration > 0, p+".duration", "must be > 0 for a ramp", ph.Duration)
			bounded = true
		case "burst":
			v.unused(p, ph.Kind, phaseFields, []string{"count", "at", "duration"})
			v.check(ph.Count > 0, p+".count", "must be > 0 for a burst", ph.Count)
			v.span(p+".at", ph.At, false)
			if ph.Duration > 0 {
				v.check(ph.At <= ph.Duration, p+".at", "must be <= the phase duration "+ph.Duration.String(), ph.At)
			}
			bounded = true
		default:
			v.oneOf(p+".kind", ph.Kind, "constant", "ramp", "burst", "poisson")
			continue
		}
		last := i == len(sc.Phases)-1
		if !bounded && (!last || (sc.Duration == 0 && sc.Uploads == 0)) {
			v.errorf(p, "never ends: set its duration or count (only the last phase may rely on the scenario's duration or uploads)")
		}
		if ph.Name == "" {
			ph.Name = fmt.Sprintf("%s-%d", ph.Kind, i)
		}
		if prev, dup := names[ph.Name]; dup {
			v.errorf(p+".name", "duplicate phase name %s (also %s)", quote(ph.Name), prev)
		}
		names[ph.Name] = p
	}
}

func (v *validator) closed(sc *Scenario) {
	if v.set("phases") {
		v.errorf("phases", "only used when model is open")
	}
	c := &sc.Closed
	if l, ok := v.lines["model"]; ok && !v.set("closed") {
		v.lines["closed"] = l // point at "model: closed"
	}
	total := sc.Population.Users * sc.Population.DevicesPerUser
	v.check(c.Devices >= 1, "closed.devices", "must be >= 1 for the closed model", c.Devices)
	if c.Devices > total && total > 0 {
		v.errorf("closed.devices", "must be <= users*devices_per_user (%d), got %s", total, v.got("closed.devices", c.Devices))
	}
	v.check(c.Iterations >= 0, "closed.iterations", "must be >= 0", c.Iterations)
	v.dist("closed.think", c.Think, unitSeconds, 0)
	if sc.Duration == 0 && sc.Uploads == 0 && c.Iterations == 0 {
		v.errorf("closed", "never ends: set closed.iterations, duration or uploads")
	}
}

func (v *validator) population(p *Population) {
	v.check(p.Users >= 1 && p.Users <= 10_000_000, "population.users", "must be in [1, 10000000]", p.Users)
	v.check(p.DevicesPerUser >= 1 && p.DevicesPerUser <= 10_000, "population.devices_per_user", "must be in [1, 10000]", p.DevicesPerUser)
	v.check(p.FilesPerUser >= 1 && p.FilesPerUser <= 1_000_000, "population.files_per_user", "must be in [1, 1000000]", p.FilesPerUser)
	if p.HotFiles < 0 || p.HotFiles > p.FilesPerUser {
		v.errorf("population.hot_files", "must be in [0, files_per_user=%d], got %s", p.FilesPerUser, v.got("population.hot_files", p.HotFiles))
	}
	v.prob("population.hot_share", p.HotShare)
	if p.HotShare > 0 && p.HotFiles == 0 {
		v.errorf("population.hot_files", "must be >= 1 when hot_share > 0, got 0")
	}
	v.prob("population.stale_share", p.StaleShare)
	v.check(p.MaxStaleness >= 0 && p.MaxStaleness <= 1_000_000, "population.max_staleness", "must be in [0, 1000000]", p.MaxStaleness)
	if p.StaleShare > 0 && p.MaxStaleness < 1 {
		v.errorf("population.max_staleness", "must be >= 1 when stale_share > 0, got %s", v.got("population.max_staleness", p.MaxStaleness))
	}
}

func (v *validator) sizes(s *Sizes) {
	v.dist("sizes", s.Dist, unitBytes, 0)
	v.check(s.MultipartThreshold > 0, "sizes.multipart_threshold", "must be > 0", s.MultipartThreshold)
	v.check(s.PartSize >= minPartSize && s.PartSize <= maxPartSize, "sizes.part_size", "must be in [5MiB, 5GiB]", s.PartSize)
}

func (v *validator) wait(w *Wait) {
	v.prob("wait.push_loss", w.PushLoss)
	v.dist("wait.push_delay", w.PushDelay, unitSeconds, 0)
	p := &w.Poll
	if p.FirstDelay != "auto" {
		d, err := ParseDuration(p.FirstDelay)
		if err != nil || d < 0 || d > maxSpan {
			v.errorf("wait.poll.first_delay", `must be "auto" or a duration like "200ms", got %s`, quote(p.FirstDelay))
		}
		p.FirstDelayFixed = d
	}
	v.span("wait.poll.interval", p.Interval, true)
	v.check(p.Backoff >= 1 && p.Backoff <= 100, "wait.poll.backoff", "must be in [1, 100]", p.Backoff)
	v.span("wait.poll.max_interval", p.MaxInterval, true)
	if p.MaxInterval < p.Interval {
		v.errorf("wait.poll.max_interval", "must be >= interval %s, got %s", p.Interval, v.got("wait.poll.max_interval", p.MaxInterval))
	}
	v.check(p.MaxPolls >= 1 && p.MaxPolls <= 100_000, "wait.poll.max_polls", "must be in [1, 100000]", p.MaxPolls)
	v.span("wait.poll.timeout", p.Timeout, true)
}

func (v *validator) coordinator(c *Coordinator) {
	strategies := make([]string, len(coordinator.Strategies))
	for i, s := range coordinator.Strategies {
		strategies[i] = string(s)
	}
	v.oneOf("coordinator.strategy", string(c.Strategy), strategies...)
	v.check(c.Concurrency >= 1 && c.Concurrency <= 100_000, "coordinator.concurrency", "must be in [1, 100000]", c.Concurrency)
	v.span("coordinator.lock_ttl", c.LockTTL, true)
	v.span("coordinator.result_ttl", c.ResultTTL, true)
	v.check(c.Retries >= 0 && c.Retries <= 10, "coordinator.retries", "must be in [0, 10]", c.Retries)
	v.check(c.UsageStreamMaxLen >= 1 && c.UsageStreamMaxLen <= 1_000_000_000, "coordinator.usage_stream_max_len", "must be in [1, 1000000000]", c.UsageStreamMaxLen)
}

func (v *validator) storage(sc *Scenario) {
	k := sc.Storage.KeepVersions
	v.check(k >= 0 && k <= 1_000_000, "storage.keep_versions", "must be in [0, 1000000] (0 keeps every version)", k)
	if k > 0 && sc.Coordinator.Strategy != coordinator.StrategyRedisLock {
		v.errorf("storage.keep_versions", "only used with coordinator.strategy %s (%s keeps no versions/)",
			coordinator.StrategyRedisLock, sc.Coordinator.Strategy)
	}
}

func (v *validator) delivery(d *Delivery) {
	v.dist("delivery.delay", d.Delay, unitSeconds, 0)
	v.prob("delivery.duplicate", d.Duplicate)
	v.prob("delivery.reorder", d.Reorder)
	v.check(d.QueueSize >= 1 && d.QueueSize <= 10_000_000, "delivery.queue_size", "must be in [1, 10000000]", d.QueueSize)
}
