package schedsim

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/stormsim/stormsim/coordinator/scheduler"
)

// Dist draws a duration from a seeded source.
type Dist func(r *rand.Rand) time.Duration

// Const always returns d.
func Const(d time.Duration) Dist { return func(*rand.Rand) time.Duration { return d } }

// Uniform draws uniformly from [lo, hi).
func Uniform(lo, hi time.Duration) Dist {
	if hi <= lo {
		return Const(lo)
	}
	return func(r *rand.Rand) time.Duration { return lo + time.Duration(r.Int64N(int64(hi-lo))) }
}

// Exp draws from an exponential distribution with the given mean.
func Exp(mean time.Duration) Dist {
	return func(r *rand.Rand) time.Duration { return time.Duration(r.ExpFloat64() * float64(mean)) }
}

// Strategy names.
const (
	StrategySelf    = "self"    // self-rescheduling rule, the design under test
	StrategyPoll    = "poll"    // fixed-interval polling every Interval
	StrategyOneShot = "oneshot" // one one-shot schedule per event
)

// ParseStrategy accepts the names above and common spellings of them.
func ParseStrategy(s string) (string, error) {
	switch s {
	case "self", "self-rescheduling", "reschedule", "rule":
		return StrategySelf, nil
	case "poll", "polling", "interval", "fixed-interval":
		return StrategyPoll, nil
	case "oneshot", "one-shot", "per-event", "eventbridge-scheduler":
		return StrategyOneShot, nil
	}
	return "", fmt.Errorf("parse strategy: unknown %q (want self, poll or oneshot)", s)
}

// Config is one scheduler simulation. Zero fields take the defaults noted.
type Config struct {
	Strategy string   // main strategy (default self); its events go to the sink
	Compare  []string // peers run on the same generated events

	Start    time.Time     // virtual start (default 2025-01-06 00:00 UTC); wall runs use now
	Duration time.Duration // inserts happen in [Start, Start+Duration); required
	Drain    time.Duration // run on after Duration (default 15 min + Interval)

	// Workload: users sign up as a Poisson process; each schedules
	// EventsPerUser events at sign-up, event i due DueOffsets[i%len] after it.
	// Events due after Start+Duration are not generated.
	NewUsersPerHour float64
	EventsPerUser   int    // default len(DueOffsets)
	DueOffsets      []Dist // default one event, Uniform(0, 24h)
	MaxEvents       int64  // stop generating after this many (0: no cap)
	// DueAlign rounds each due time up to a multiple of it after Start
	// (0: none): events due on minute boundaries.
	DueAlign time.Duration

	Resolution time.Duration // rule resolution (default 1 min)
	Interval   time.Duration // poll strategy period (default 5 min)

	// Timer service behaviour (see RuleConfig).
	Jitter          Dist
	DuplicateFire   float64
	DuplicateDelay  Dist
	UpdateDelay     time.Duration
	UpdateRateLimit float64
	UpdateBurst     int
	// Lead is the handler's Options.Lead (default UpdateDelay).
	Lead time.Duration

	Store     string                // "memory" (default) or "redis"
	Redis     redis.UniversalClient // for "redis"; nil starts a miniredis per strategy
	Staleness time.Duration         // memory store read staleness window
	// StoreLatency is the virtual time each store or register call takes
	// inside a handler invocation; inserts due meanwhile run in between, so
	// the insert/handler race is exercised in virtual time too.
	StoreLatency        time.Duration
	HandlerTimePerEvent time.Duration

	Seed uint64
	// Wall runs on the real clock (Resolution and all durations are taken
	// literally, so scale them down for a short run).
	Wall bool
	// Hooks break the self strategy for the harness's self-test (nil: as
	// built).
	Hooks *scheduler.Hooks
	// Mail, when set, makes every event an e-mail (see MailConfig).
	Mail *MailConfig
}

// ErrConfig marks an invalid Config.
var ErrConfig = errors.New("invalid scheduler config")

// withDefaults validates c and fills in defaults.
func (c Config) withDefaults() (Config, error) {
	var err error
	if c.Strategy == "" {
		c.Strategy = StrategySelf
	}
	if c.Strategy, err = ParseStrategy(c.Strategy); err != nil {
		return c, fmt.Errorf("%w: strategy: %w", ErrConfig, err)
	}
	for i, s := range c.Compare {
		if c.Compare[i], err = ParseStrategy(s); err != nil {
			return c, fmt.Errorf("%w: compare[%d]: %w", ErrConfig, i, err)
		}
	}
	if c.Duration <= 0 {
		return c, fmt.Errorf("%w: duration %v must be > 0", ErrConfig, c.Duration)
	}
	if c.NewUsersPerHour <= 0 {
		return c, fmt.Errorf("%w: new_users_per_hour %v must be > 0", ErrConfig, c.NewUsersPerHour)
	}
	if c.DuplicateFire < 0 || c.DuplicateFire >= 1 {
		return c, fmt.Errorf("%w: duplicate_fire %v must be in [0, 1)", ErrConfig, c.DuplicateFire)
	}
	if c.Start.IsZero() {
		c.Start = time.Date(2025, 1, 6, 0, 0, 0, 0, time.UTC)
	}
	if c.Resolution <= 0 {
		c.Resolution = time.Minute
	}
	if c.Interval <= 0 {
		c.Interval = 5 * time.Minute
	}
	if c.Drain <= 0 {
		c.Drain = 15*c.Resolution + c.Interval
	}
	if len(c.DueOffsets) == 0 {
		c.DueOffsets = []Dist{Uniform(0, 24*time.Hour)}
	}
	if c.EventsPerUser <= 0 {
		c.EventsPerUser = len(c.DueOffsets)
	}
	if c.Lead == 0 {
		c.Lead = c.UpdateDelay
	}
	if err := c.checkMail(); err != nil {
		return c, err
	}
	switch c.Store {
	case "", "memory":
		c.Store = "memory"
	case "redis":
		if c.Staleness > 0 {
			return c, fmt.Errorf("%w: staleness needs the memory store", ErrConfig)
		}
	default:
		return c, fmt.Errorf("%w: store %q (want memory or redis)", ErrConfig, c.Store)
	}
	return c, nil
}

// strategies lists the main strategy then each distinct peer.
func (c Config) strategies() []string {
	out := []string{c.Strategy}
	for _, s := range c.Compare {
		dup := false
		for _, o := range out {
			dup = dup || o == s
		}
		if !dup {
			out = append(out, s)
		}
	}
	return out
}

// rng returns the named random stream of the seed, so adding a stream does
// not shift the others.
func (c Config) rng(stream string) *rand.Rand {
	h := uint64(14695981039346656037)
	for i := 0; i < len(stream); i++ {
		h = (h ^ uint64(stream[i])) * 1099511628211
	}
	return rand.New(rand.NewPCG(c.Seed, h))
}
