package model

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/stormsim/stormsim/internal/yamlconf"
	"github.com/stormsim/stormsim/profiles"
	"github.com/stormsim/stormsim/scenarios"
)

// ErrProfile marks a profile that cannot be loaded or is invalid.
var ErrProfile = errors.New("bad profile")

// Profile holds the latency and limit figures of one deployment
// (profiles/*.yaml). Every duration is in seconds; every distribution is a
// scenarios.Dist in seconds (bytes per second for bandwidths).
type Profile struct {
	Name        string `yaml:"name"`
	Date        string `yaml:"date"` // when the figures were taken, YYYY-MM-DD
	Description string `yaml:"description"`
	// Source says where the figures come from: "measured by simrun
	// calibrate on ..." or the public sources listed in Sources.
	Source  string   `yaml:"source"`
	Sources []Source `yaml:"sources"`

	Handler  Handler  `yaml:"handler"`
	Delivery Platform `yaml:"delivery"`
	Redis    Redis    `yaml:"redis"`
	// Ops are client-observed latencies of each call on an idle backend
	// (op names: s3.get, s3.copy, ..., redis.script.lock, redis.get, ...;
	// redis.script and redis.command are the fallbacks of their kind).
	Ops []Op `yaml:"ops"`
	// Transfer rates of the handler's reads and copies (bytes/s, 0 = free).
	S3ReadBytesPerSecond float64 `yaml:"s3_read_bytes_per_second"`
	S3CopyBytesPerSecond float64 `yaml:"s3_copy_bytes_per_second"`
	Device               Device  `yaml:"device"`
	// CPU is the one machine the whole setup runs on (cpu.go); empty for
	// a deployed system.
	CPU CPU `yaml:"cpu"`

	// calibrated are the ops before a scenario's overrides: a call's CPU
	// time is what it cost where calibrated, whatever latency a plan
	// gives it (a slower S3 is a farther one, not a busier machine).
	calibrated []Op
}

// Source is the public source of one figure.
type Source struct {
	Figure string `yaml:"figure"`
	URL    string `yaml:"url"`
	Note   string `yaml:"note"`
}

// Handler is the handler pool. Kind "queue" is the harness's delivery: a
// fixed pool of coordinator.concurrency workers behind a FIFO queue, no
// cold starts. Kind "lambda" is AWS Lambda's asynchronous invocation.
type Handler struct {
	Kind string `yaml:"kind"`
	// AccountConcurrency is the account's concurrent executions limit;
	// ReservedConcurrency, when > 0, is the function's own limit.
	AccountConcurrency  int `yaml:"account_concurrency"`
	ReservedConcurrency int `yaml:"reserved_concurrency"`
	// ScalePer10s is how many new execution environments a function may
	// add per 10 seconds.
	ScalePer10s int `yaml:"scale_per_10s"`
	// ColdStart is an environment's init time; IdleExpiry how long an
	// idle environment is kept (seconds).
	ColdStart  scenarios.Dist `yaml:"cold_start"`
	IdleExpiry float64        `yaml:"idle_expiry"`
	// Invoke is the platform's overhead per invocation.
	Invoke scenarios.Dist `yaml:"invoke"`
	// RetryDelays are the waits before the retries of a failed
	// invocation (their count is the scenario's coordinator.retries; the
	// last delay repeats).
	RetryDelays []float64 `yaml:"retry_delays"`
	// A throttled asynchronous event is retried after ThrottleRetryMin
	// seconds, doubling up to ThrottleRetryMax.
	ThrottleRetryMin float64 `yaml:"throttle_retry_min"`
	ThrottleRetryMax float64 `yaml:"throttle_retry_max"`
}

// Platform is the platform's own S3-notification delay, added to the
// scenario's delivery delay (which shapes the harness's delivery).
type Platform struct {
	Delay scenarios.Dist `yaml:"delay"`
}

// Redis is the Redis server: Shards nodes (keys by file), each running one
// command at a time for Service seconds (ScriptService for a script).
type Redis struct {
	Shards        int     `yaml:"shards"`
	Service       float64 `yaml:"service"`
	ScriptService float64 `yaml:"script_service"`
}

// Op is one call's client-observed latency.
type Op struct {
	Op             string `yaml:"op"`
	scenarios.Dist `yaml:",inline"`
}

// Device is a phone: its staging PUT (without the transfer), its bandwidth,
// its result query, and the push's path from the result script's PUBLISH
// to the device (added to the scenario's wait.push_delay; 0 when empty).
type Device struct {
	Put       scenarios.Dist `yaml:"put"`
	Bandwidth scenarios.Dist `yaml:"bandwidth"`
	Poll      scenarios.Dist `yaml:"poll"`
	Push      scenarios.Dist `yaml:"push"`
}

// LoadProfile loads a built-in profile by name ("aws-us-east-1") or a
// profile file by path.
func LoadProfile(nameOrPath string) (*Profile, error) {
	data, err := yamlconf.ReadFile(nameOrPath, maxProfileFile)
	file := nameOrPath
	if err != nil {
		name := strings.TrimSuffix(filepath.Base(nameOrPath), ".yaml")
		b, ok := profiles.Builtin(name)
		if !ok {
			return nil, fmt.Errorf("%w: %s: no such file and no built-in profile %q (built-in: %s)", ErrProfile,
				nameOrPath, name, strings.Join(profiles.Names(), ", "))
		}
		data, file = b, "profiles/"+name+".yaml"
	}
	return ParseProfile(file, data)
}

// maxProfileFile is the largest profile file read (1 MiB).
const maxProfileFile = 1 << 20

// ParseProfile reads the profile file called file as every configuration
// file is read (internal/yamlconf): decoded strictly (an unknown field, a
// duplicate key or a wrong type is an error), then validated. Errors are
// yamlconf.FieldErrors wrapping ErrProfile that read "FILE:LINE: FIELD:
// MESSAGE".
func ParseProfile(file string, data []byte) (*Profile, error) {
	root, err := yamlconf.Document(file, data, maxProfileFile, ErrProfile)
	if err != nil {
		return nil, err
	}
	p := &Profile{}
	d := yamlconf.NewDecoder(file, ErrProfile, nil)
	d.Decode(root, p, "a profile")
	if err := d.Errs.Err(); err != nil {
		return nil, err
	}
	p.check(func(field, format string, a ...any) { d.Failf(d.Line(field), field, format, a...) })
	if err := d.Errs.Err(); err != nil {
		return nil, err
	}
	return p, nil
}

// validate checks a profile made in code (calibrated, or with a
// scenario's overrides): no file, so no lines.
func (p *Profile) validate() error {
	var errs []error
	p.check(func(field, format string, a ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, a...)))
	})
	return errors.Join(errs...)
}

// check reports each invalid figure to bad, by its field path.
func (p *Profile) check(bad func(field, format string, a ...any)) {
	if p.Name == "" {
		bad("name", "missing")
	}
	h := &p.Handler
	switch h.Kind {
	case "queue":
	case "lambda":
		if h.AccountConcurrency <= 0 {
			bad("handler.account_concurrency", "must be > 0, got %d", h.AccountConcurrency)
		}
		if h.ScalePer10s <= 0 {
			bad("handler.scale_per_10s", "must be > 0, got %d", h.ScalePer10s)
		}
		if h.ThrottleRetryMin <= 0 || h.ThrottleRetryMax < h.ThrottleRetryMin {
			bad("handler.throttle_retry_min", "want 0 < min <= throttle_retry_max, got %g and %g", h.ThrottleRetryMin, h.ThrottleRetryMax)
		}
	default:
		bad("handler.kind", "want queue or lambda, got %q", h.Kind)
	}
	if h.ReservedConcurrency < 0 {
		bad("handler.reserved_concurrency", "must be >= 0, got %d", h.ReservedConcurrency)
	}
	for i, d := range h.RetryDelays {
		if d < 0 {
			bad(fmt.Sprintf("handler.retry_delays[%d]", i), "must be >= 0, got %g", d)
		}
	}
	p.CPU.validate(bad)
	if p.Redis.Shards < 1 {
		bad("redis.shards", "must be >= 1, got %d", p.Redis.Shards)
	}
	if p.Redis.Service < 0 || p.Redis.ScriptService < 0 {
		bad("redis.service", "must be >= 0, got %g and script_service %g", p.Redis.Service, p.Redis.ScriptService)
	}
	seen := map[string]bool{}
	for i, op := range p.Ops {
		if op.Op == "" || seen[op.Op] {
			bad(fmt.Sprintf("ops[%d].op", i), "missing or repeated %q", op.Op)
		}
		seen[op.Op] = true
		if err := checkDist(op.Dist); err != nil {
			bad(fmt.Sprintf("ops[%d]", i), "%s: %v", op.Op, err)
		}
	}
	for _, f := range []struct {
		field string
		d     scenarios.Dist
	}{{"handler.cold_start", h.ColdStart}, {"handler.invoke", h.Invoke}, {"delivery.delay", p.Delivery.Delay},
		{"device.put", p.Device.Put}, {"device.bandwidth", p.Device.Bandwidth}, {"device.poll", p.Device.Poll},
		{"device.push", p.Device.Push}} {
		if err := checkDist(f.d); err != nil {
			bad(f.field, "%v", err)
		}
	}
}

// checkDist accepts an empty distribution (zero) and the kinds
// workload.Sample draws from, with their parameters in range.
func checkDist(d scenarios.Dist) error {
	switch d.Kind {
	case "":
		return nil
	case "fixed":
		if d.Value < 0 {
			return fmt.Errorf("value must be >= 0, got %g", d.Value)
		}
	case "uniform":
		if d.Min < 0 || d.Max < d.Min {
			return fmt.Errorf("want 0 <= min <= max, got %g, %g", d.Min, d.Max)
		}
	case "lognormal":
		if d.Median <= 0 || d.Sigma < 0 {
			return fmt.Errorf("want median > 0 and sigma >= 0, got %g, %g", d.Median, d.Sigma)
		}
	case "exponential":
		if d.Mean <= 0 {
			return fmt.Errorf("mean must be > 0, got %g", d.Mean)
		}
	case "normal":
		if d.Stddev < 0 {
			return fmt.Errorf("stddev must be >= 0, got %g", d.Stddev)
		}
	case "mix":
		for i, c := range d.Mix {
			if c.Weight <= 0 {
				return fmt.Errorf("mix[%d].weight must be > 0", i)
			}
			if err := checkDist(c.Dist); err != nil {
				return fmt.Errorf("mix[%d]: %w", i, err)
			}
		}
	default:
		return fmt.Errorf("kind %q: want fixed, uniform, normal, lognormal, exponential or mix", d.Kind)
	}
	return nil
}

// op returns the latency distribution of a call: its own, else its kind's
// fallback (redis.script, redis.command, s3.other).
func (p *Profile) op(name string) scenarios.Dist {
	for _, o := range p.Ops {
		if o.Op == name {
			return o.Dist
		}
	}
	fallback := "s3.other"
	switch {
	case strings.HasPrefix(name, "redis.script."):
		fallback = "redis.script"
	case strings.HasPrefix(name, "redis."):
		fallback = "redis.command"
	}
	for _, o := range p.Ops {
		if o.Op == fallback {
			return o.Dist
		}
	}
	return scenarios.Dist{}
}

// withOverrides returns p with the scenario's plan section applied.
func (p *Profile) withOverrides(pl *scenarios.Plan) (*Profile, error) {
	q := *p
	q.Ops = append([]Op(nil), p.Ops...)
	q.calibrated = p.Ops
	if pl == nil {
		return &q, nil
	}
	if pl.AccountConcurrency > 0 {
		q.Handler.AccountConcurrency = pl.AccountConcurrency
	}
	if pl.ReservedConcurrency > 0 {
		q.Handler.ReservedConcurrency = pl.ReservedConcurrency
	}
	if pl.ScalePer10s > 0 {
		q.Handler.ScalePer10s = pl.ScalePer10s
	}
	if pl.RedisShards > 0 {
		q.Redis.Shards = pl.RedisShards
	}
	if pl.ColdStart.Kind != "" {
		q.Handler.ColdStart = pl.ColdStart
	}
	for _, o := range pl.Ops {
		replaced := false
		for i := range q.Ops {
			if q.Ops[i].Op == o.Op {
				q.Ops[i].Dist, replaced = o.Dist, true
			}
		}
		if !replaced {
			q.Ops = append(q.Ops, Op{Op: o.Op, Dist: o.Dist})
		}
	}
	if err := q.validate(); err != nil {
		return nil, fmt.Errorf("%w: %s with the scenario's plan overrides: %v", ErrProfile, p.Name, err)
	}
	return &q, nil
}
