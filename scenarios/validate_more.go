package scenarios

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// DistKinds lists the distribution kinds and the fields each uses; cap is
// accepted by every kind.
var DistKinds = map[string][]string{
	"fixed":       {"value"},
	"uniform":     {"min", "max"},
	"normal":      {"mean", "stddev"},
	"lognormal":   {"median", "sigma"},
	"exponential": {"mean"},
	"pareto":      {"alpha", "scale", "cap"},
	"mix":         {"mix"},
}

var distFields = []string{"value", "min", "max", "mean", "stddev", "median", "sigma", "alpha", "scale", "mix"}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

// dist validates a distribution whose numbers are in unit u.
func (v *validator) dist(path string, d Dist, u unit, depth int) {
	uses, ok := DistKinds[d.Kind]
	if !ok {
		v.oneOf(path+".kind", d.Kind, sortedKeys(DistKinds)...)
		return
	}
	v.unused(path, d.Kind, distFields, uses)
	limit, limitText := 30*24*3600.0, "30 days"
	if u == unitBytes {
		limit, limitText = 5*(1<<40), "5TiB"
	}
	amount := func(name string, x float64, positive bool) {
		p := path + "." + name
		if positive {
			v.check(x > 0, p, "must be > 0", x)
		} else {
			v.check(x >= 0, p, "must be >= 0", x)
		}
		v.check(x <= limit, p, "must be <= "+limitText, x)
	}
	switch {
	case d.Kind == "pareto" && d.Cap == 0 && !v.set(path+".cap"):
		v.errorf(path+".cap", "required for kind \"pareto\" (the largest value)")
	case v.set(path+".cap") || d.Kind == "pareto":
		amount("cap", d.Cap, d.Kind == "pareto")
	}
	switch d.Kind {
	case "fixed":
		amount("value", d.Value, false)
	case "uniform":
		amount("min", d.Min, false)
		amount("max", d.Max, false)
		if d.Max < d.Min {
			v.errorf(path+".max", "must be >= min (%s), got %s", formatFloat(d.Min), v.got(path+".max", d.Max))
		}
	case "normal":
		amount("mean", d.Mean, false)
		amount("stddev", d.Stddev, false)
	case "lognormal":
		amount("median", d.Median, true)
		v.check(d.Sigma > 0 && d.Sigma <= 10, path+".sigma", "must be in (0, 10]", d.Sigma)
	case "exponential":
		amount("mean", d.Mean, true)
	case "pareto":
		v.check(d.Alpha > 0 && d.Alpha <= 100, path+".alpha", "must be in (0, 100]", d.Alpha)
		amount("scale", d.Scale, true)
		if d.Cap > 0 && d.Cap <= d.Scale {
			v.errorf(path+".cap", "must be > scale (%s), got %s", formatFloat(d.Scale), v.got(path+".cap", d.Cap))
		}
	case "mix":
		if len(d.Mix) == 0 || len(d.Mix) > 64 {
			v.errorf(path+".mix", "must list 1 to 64 distributions, got %d", len(d.Mix))
		}
		if depth >= 4 {
			v.errorf(path+".mix", "mixes nest at most 4 deep")
			return
		}
		for i, w := range d.Mix {
			p := fmt.Sprintf("%s.mix[%d]", path, i)
			v.check(w.Weight > 0, p+".weight", "must be > 0", w.Weight)
			v.check(w.Weight <= 1e9, p+".weight", "must be <= 1e9", w.Weight)
			v.dist(p, w.Dist, u, depth+1)
		}
	}
}

var schedulerStrategies = []string{"self-rescheduling", "fixed-interval", "one-shot"}

// maxSchedulerEvents bounds the planned events of a run without a cap.
const maxSchedulerEvents = 100_000_000

func (v *validator) scheduler(s *Scheduler) {
	const p = "scheduler."
	v.oneOf(p+"strategy", s.Strategy, schedulerStrategies...)
	seen := map[string]bool{s.Strategy: true}
	for i, c := range s.Compare {
		cp := fmt.Sprintf("%scompare[%d]", p, i)
		if v.oneOf(cp, c, schedulerStrategies...) && seen[c] {
			v.errorf(cp, "listed twice (or equal to strategy), got %s", quote(c))
		}
		seen[c] = true
	}
	v.check(s.Days > 0 && s.Days <= 3650, p+"days", "must be in (0, 3650]", s.Days)
	v.oneOf(p+"clock", s.Clock, "virtual", "wall")
	v.check(s.NewUsersPerHour > 0 && s.NewUsersPerHour <= 1e6, p+"new_users_per_hour", "must be in (0, 1e6]", s.NewUsersPerHour)
	v.check(s.EventsPerUser >= 1 && s.EventsPerUser <= 1000, p+"events_per_user", "must be in [1, 1000]", s.EventsPerUser)
	if len(s.DueOffsets) == 0 || len(s.DueOffsets) > 1000 {
		v.errorf(p+"due_offsets", "must list 1 to 1000 distributions, got %d", len(s.DueOffsets))
	}
	for i, d := range s.DueOffsets {
		v.dist(fmt.Sprintf("%sdue_offsets[%d]", p, i), d, unitSeconds, 0)
	}
	v.check(s.Interval > 0 && s.Interval <= 24*time.Hour, p+"interval", "must be in (0, 24h]", s.Interval)
	v.dist(p+"jitter", s.Jitter, unitSeconds, 0)
	v.prob(p+"duplicate_fire", s.DuplicateFire)
	v.dist(p+"update_delay", s.UpdateDelay, unitSeconds, 0)
	v.check(s.UpdateRateLimit >= 0, p+"update_rate_limit", "must be >= 0", s.UpdateRateLimit)
	v.check(s.Staleness >= 0 && s.Staleness <= time.Hour, p+"staleness", "must be in [0, 1h]", s.Staleness)
	v.check(s.HandlerTimePerEvent >= 0 && s.HandlerTimePerEvent <= time.Minute, p+"handler_time_per_event", "must be in [0, 1m]", s.HandlerTimePerEvent)
	v.oneOf(p+"store", s.Store, "memory", "redis")
	v.check(s.DueAlign >= 0 && s.DueAlign <= 24*time.Hour, p+"due_align", "must be in [0, 24h]", s.DueAlign)
	v.check(s.Events >= 0 && s.Events <= maxCount, p+"events", fmt.Sprintf("must be in [0, %d]", maxCount), s.Events)
	if planned := s.Days * 24 * s.NewUsersPerHour * float64(s.EventsPerUser); s.Events == 0 && planned > maxSchedulerEvents {
		v.errorf(p+"days", "plans about %.3g events, more than %d: lower days or new_users_per_hour, or cap scheduler.events", planned, maxSchedulerEvents)
	}
	if s.Email != nil {
		v.email(s)
	}
}

// FaultKinds describes each fault kind and names the fields it uses
// besides start and end.
var FaultKinds = map[string]struct {
	Desc   string
	Fields []string
}{
	"s3-error":             {"S3 calls fail with HTTP status code (0 = 503) with probability", []string{"probability", "code"}},
	"s3-latency":           {"S3 calls take latency longer with probability", []string{"probability", "latency"}},
	"redis-latency":        {"Redis commands take latency longer with probability", []string{"probability", "latency"}},
	"redis-reply-lost":     {"a coordinator script runs but its reply is lost (the client times out) with probability; the handler fails and its event is retried", []string{"probability"}},
	"redis-outage":         {"Redis is down for the whole window", nil},
	"redis-lock-loss":      {"a held lock is lost (as on failover) with probability", []string{"probability"}},
	"redis-clock-jump":     {"Redis's clock jumps by jump at start (TTLs expire early)", []string{"jump"}},
	"handler-crash":        {"the handler crashes at step with probability; the event is retried", []string{"probability", "step"}},
	"handler-pause":        {"the handler pauses for latency (GC, freeze) with probability, at step (default right after the lock)", []string{"probability", "latency", "step"}},
	"redis-lock-expiry":    {"the handler stalls for latency at step with probability and its own lock expires meanwhile (a waiting upload can take it)", []string{"probability", "step", "latency"}},
	"redis-fence-rollback": {"at step, a failover loses the handler's lock and the last fence increment of its file, with probability; the handler stalls for latency", []string{"probability", "step", "latency"}},
	"event-delay":          {"S3 events are delayed by latency more with probability", []string{"probability", "latency"}},
	"event-duplicate":      {"S3 events are delivered twice with probability", []string{"probability"}},
	"event-reorder":        {"S3 events are held back behind later ones with probability", []string{"probability"}},
	"event-drop":           {"S3 events are lost with probability (detected by the checker)", []string{"probability"}},
	"push-outage":          {"push notifications are not delivered in the window", nil},
	"hostile-upload":       {"devices upload hostile input (bad paths, metadata, user or SHA-256) with probability; each must be rejected", []string{"probability"}},
}

// CrashSteps are the handler-crash steps: coordinator.Steps, in the order a
// winning upload passes them (after-lock never comes with s3-conditional).
var CrashSteps = []string{"after-read", "after-lock", "after-commit", "after-copy", "after-result"}

var faultFields = []string{"probability", "latency", "step", "jump", "code"}

// PhaseKinds are the fault kinds that can be keyed to a phase (`phase`):
// those that act on one upload's handler at a step.
var PhaseKinds = []string{"handler-crash", "handler-pause", "redis-lock-expiry", "redis-fence-rollback"}

func (v *validator) faults(fs []Fault, phases []Phase) {
	if len(fs) > 1000 {
		v.errorf("faults", "at most 1000 faults, got %d", len(fs))
		return
	}
	for i := range fs {
		f := &fs[i]
		p := fmt.Sprintf("faults[%d]", i)
		k, ok := FaultKinds[f.Kind]
		if !ok {
			v.oneOf(p+".kind", f.Kind, sortedKeys(FaultKinds)...)
			continue
		}
		v.unused(p, f.Kind, faultFields, k.Fields)
		v.check(f.Start >= 0, p+".start", "must be >= 0", f.Start)
		if f.End != 0 && f.End <= f.Start {
			v.errorf(p+".end", "must be > start (%s) or 0 (until the end), got %s", f.Start, v.got(p+".end", f.End))
		}
		v.prob(p+".probability", f.Probability)
		v.check(f.MinInjected >= 0, p+".min_injected", "must be >= 0", f.MinInjected)
		for _, m := range []struct {
			field string
			n     int64
		}{{"min_taken", f.MinTaken}, {"min_overtaken", f.MinOvertaken}} {
			switch {
			case m.n == 0:
			case f.Kind != "redis-lock-expiry" && f.Kind != "redis-fence-rollback":
				v.errorf(p+"."+m.field, "not used by kind %s (only redis-lock-expiry and redis-fence-rollback stall)", quote(f.Kind))
			default:
				v.check(m.n > 0, p+"."+m.field, "must be >= 0", m.n)
			}
		}
		switch {
		case f.Phase == "":
		case !contains(PhaseKinds, f.Kind):
			v.errorf(p+".phase", "not used by kind %s (only %s act on one upload's steps)", quote(f.Kind), strings.Join(PhaseKinds, ", "))
		case len(phases) == 0:
			v.errorf(p+".phase", "names a phase, but the scenario has no phases, got %s", quote(f.Phase))
		default:
			names := make([]string, len(phases))
			for j, ph := range phases {
				names[j] = ph.Name
			}
			v.oneOf(p+".phase", f.Phase, names...)
		}
		if contains(k.Fields, "latency") {
			v.check(f.Latency > 0 && f.Latency <= time.Hour, p+".latency", "must be in (0, 1h]", f.Latency)
		}
		switch f.Kind {
		case "handler-crash", "redis-lock-expiry", "redis-fence-rollback":
			v.oneOf(p+".step", f.Step, CrashSteps...)
		case "handler-pause":
			if f.Step != "" {
				v.oneOf(p+".step", f.Step, CrashSteps...)
			}
		case "redis-clock-jump":
			v.check(f.Jump != 0, p+".jump", "must not be 0", f.Jump)
		case "s3-error":
			if f.Code == 0 {
				f.Code = 503
			}
			v.check(f.Code >= 400 && f.Code <= 599, p+".code", "must be an HTTP error status in [400, 599]", f.Code)
		}
	}
}
