package scenarios

import (
	"time"

	"github.com/stormsim/stormsim/coordinator"
)

// Scenario is one decoded and validated scenario file. Field comments give
// the YAML key (snake_case of the Go name) and meaning; defaults live in
// defaults.go and README.md.
type Scenario struct {
	Name        string `yaml:"name"`
	Description string `yaml:"description"`
	Seed        uint64 `yaml:"seed"`
	// Duration caps the arrival window (0 = the phases decide).
	Duration time.Duration `yaml:"duration"`
	// Uploads caps the number of uploads (0 = no cap). At least one of
	// bounded phases, Duration or Uploads must bound an upload run.
	Uploads int64 `yaml:"uploads"`
	// Drain is the longest wait after the last arrival for outstanding
	// uploads to finish.
	Drain time.Duration `yaml:"drain"`
	// Model is "open" (arrivals at planned instants) or "closed" (each
	// device loops: upload, wait for the outcome, think).
	Model  string      `yaml:"model"`
	Phases []Phase     `yaml:"phases"`
	Closed ClosedModel `yaml:"closed"`

	Population  Population  `yaml:"population"`
	Sizes       Sizes       `yaml:"sizes"`
	Wait        Wait        `yaml:"wait"`
	Coordinator Coordinator `yaml:"coordinator"`
	Delivery    Delivery    `yaml:"delivery"`
	Storage     Storage     `yaml:"storage"`

	// Gates are expressions over run metrics, e.g. "polls.mean <= 1.2";
	// ParsedGates holds them parsed, in the same order.
	Gates       []string `yaml:"gates"`
	ParsedGates []Gate   `yaml:"-"`
	// Evidence are expressions, written as gates, over what the run must
	// have seen for its gates to prove anything (e.g. "delivery.failures
	// > 0" where a guard exists for failed invocations); one that does not
	// hold makes the verdict inconclusive, never a pass. ParsedEvidence
	// holds them parsed.
	Evidence       []string `yaml:"evidence"`
	ParsedEvidence []Gate   `yaml:"-"`
	// AbortOnFail stops a run at the first failed gate.
	AbortOnFail bool `yaml:"abort_on_fail"`

	// Scheduler is nil when the file has no scheduler section.
	Scheduler *Scheduler `yaml:"scheduler"`
	Faults    []Fault    `yaml:"faults"`
	// Plan configures `simrun plan` (the capacity-planning model); a real
	// run ignores it. The key is "plan" because "model" already names the
	// workload model (open or closed).
	Plan *Plan `yaml:"plan"`
	// Regions is nil for a single-region run (regions.go).
	Regions *Regions `yaml:"regions"`
}

// Plan names the model's profile (profiles/NAME.yaml, or a path) and
// overrides its figures; zero keeps the profile's.
type Plan struct {
	Profile             string `yaml:"profile"`
	AccountConcurrency  int    `yaml:"account_concurrency"`
	ReservedConcurrency int    `yaml:"reserved_concurrency"`
	ScalePer10s         int    `yaml:"scale_per_10s"`
	RedisShards         int    `yaml:"redis_shards"`
	// ColdStart is the handler's init time (seconds).
	ColdStart Dist `yaml:"cold_start"`
	// Ops override per-call latencies (seconds), by the profile's op names.
	Ops []PlanOp `yaml:"ops"`
}

// PlanOp is one call's latency override.
type PlanOp struct {
	Op   string `yaml:"op"`
	Dist `yaml:",inline"`
}

// Phase is one stretch of an open-model arrival schedule. Phases run one
// after another.
type Phase struct {
	// Kind is constant (evenly spaced at Rate), ramp (rate moving linearly
	// From -> To over Duration), burst (Count arrivals at one instant, At
	// into the phase) or poisson (exponential gaps at mean Rate).
	Kind string  `yaml:"kind"`
	Rate float64 `yaml:"rate"`
	From float64 `yaml:"from"`
	To   float64 `yaml:"to"`
	// Duration is the phase length; Count caps its arrivals. Constant and
	// poisson phases need one of them (the last phase may rely on the
	// scenario's duration or uploads cap instead).
	Duration time.Duration `yaml:"duration"`
	Count    int64         `yaml:"count"`
	// At is the burst instant as an offset inside the phase.
	At time.Duration `yaml:"at"`
	// Name labels the phase in reports; it defaults to "KIND-INDEX".
	Name string `yaml:"name"`
	// Follow is the share (0..1) of this phase's uploads in which the
	// device edits again the file it last uploaded, from the head it
	// learned: it waits for that upload's outcome first, as a sync client
	// serializes the edits of one file. 0 = every file is drawn afresh.
	Follow float64 `yaml:"follow"`
}

// ClosedModel configures the closed workload model.
type ClosedModel struct {
	// Devices is how many devices loop concurrently (at most
	// users*devices_per_user).
	Devices int `yaml:"devices"`
	// Think is the pause between an outcome and the next upload (seconds).
	Think Dist `yaml:"think"`
	// Iterations caps uploads per device (0 = until duration/uploads).
	Iterations int `yaml:"iterations"`
}

// Population sets who uploads what; together with the arrival rate it sets
// the conflict rate.
type Population struct {
	Users          int `yaml:"users"`
	DevicesPerUser int `yaml:"devices_per_user"`
	FilesPerUser   int `yaml:"files_per_user"`
	// HotFiles is the size of each user's hot set (files 0..HotFiles-1).
	HotFiles int `yaml:"hot_files"`
	// HotShare is the fraction of uploads that target the hot set.
	HotShare float64 `yaml:"hot_share" unit:"fraction"`
	// StaleShare is the fraction of uploads made from an outdated base.
	StaleShare float64 `yaml:"stale_share" unit:"fraction"`
	// MaxStaleness is how many versions behind a stale base is at most.
	MaxStaleness int `yaml:"max_staleness"`
}

// Dist is a random distribution. Numeric fields accept a plain number or a
// string with a unit and are stored in base units: bytes for sizes (an
// int or "4KiB", "2MiB", "1GB"), seconds for delays, jitter and think time
// (a number of seconds or a duration such as "200ms", "1m").
//
// Kinds and the fields they use:
//
//	fixed        value
//	uniform      min, max
//	normal       mean, stddev (negative samples become 0)
//	lognormal    median, sigma
//	exponential  mean
//	pareto       alpha, scale (minimum), cap (required; truncated, never above)
//	mix          mix: a list of weighted distributions
//
// Cap, when set, bounds every kind from above.
type Dist struct {
	Kind   string         `yaml:"kind"`
	Value  float64        `yaml:"value"`
	Min    float64        `yaml:"min"`
	Max    float64        `yaml:"max"`
	Mean   float64        `yaml:"mean"`
	Stddev float64        `yaml:"stddev"`
	Median float64        `yaml:"median"`
	Sigma  float64        `yaml:"sigma"`
	Alpha  float64        `yaml:"alpha"`
	Scale  float64        `yaml:"scale"`
	Cap    float64        `yaml:"cap"`
	Mix    []WeightedDist `yaml:"mix"`
}

// WeightedDist is one component of a mix; Weight is relative (> 0).
type WeightedDist struct {
	Weight float64 `yaml:"weight" unit:"none"`
	Dist   `yaml:",inline"`
}

// Sizes is the upload size distribution (bytes) and the multipart setup.
type Sizes struct {
	Dist `yaml:",inline"`
	// Uploads of at least MultipartThreshold bytes go multipart, in parts
	// of PartSize bytes (at least 5 MiB, as in S3).
	MultipartThreshold int64 `yaml:"multipart_threshold" unit:"bytes"`
	PartSize           int64 `yaml:"part_size" unit:"bytes"`
}

// Wait is how a device learns its upload's outcome.
type Wait struct {
	Push      bool    `yaml:"push"`
	PushLoss  float64 `yaml:"push_loss" unit:"fraction"`
	PushDelay Dist    `yaml:"push_delay"`
	Poll      Poll    `yaml:"poll"`
}

// Poll is the result polling strategy.
type Poll struct {
	// FirstDelay is "auto" (estimated from the size and recent processing
	// times) or a duration; FirstDelayFixed holds the parsed duration.
	FirstDelay      string        `yaml:"first_delay"`
	FirstDelayFixed time.Duration `yaml:"-"`
	Interval        time.Duration `yaml:"interval"`
	// Backoff multiplies the interval after each poll (>= 1).
	Backoff     float64       `yaml:"backoff"`
	MaxInterval time.Duration `yaml:"max_interval"`
	MaxPolls    int           `yaml:"max_polls"`
	Timeout     time.Duration `yaml:"timeout"`
}

// Coordinator configures the system under test.
type Coordinator struct {
	// Strategy is "redis-lock" or "s3-conditional".
	Strategy coordinator.Strategy `yaml:"strategy"`
	// Concurrency is the number of handler workers.
	Concurrency int           `yaml:"concurrency"`
	LockTTL     time.Duration `yaml:"lock_ttl"`
	// ResultTTL is how long results (and commit records) stay in Redis
	// (default 24h). Long runs shorten it so Redis holds recent uploads
	// only; it must outlast a device's wait for its result.
	ResultTTL time.Duration `yaml:"result_ttl"`
	// Retries is how often a failed event is retried (Lambda async: 2).
	Retries int `yaml:"retries"`
	// UsageStreamMaxLen is about how many events each user's usage stream
	// keeps in Redis (default 10000, coordinator.UsageStreamMaxLen). Long
	// runs shorten it so Redis holds recent events only; the billing
	// invariant judges a trimmed stream's events without their times.
	UsageStreamMaxLen int64 `yaml:"usage_stream_max_len"`
}

// Delivery shapes S3 event notifications on their way to the handler.
type Delivery struct {
	Delay     Dist    `yaml:"delay"`
	Duplicate float64 `yaml:"duplicate" unit:"fraction"`
	// Reorder is the probability that an event is held back behind later
	// ones.
	Reorder   float64 `yaml:"reorder" unit:"fraction"`
	QueueSize int     `yaml:"queue_size"`
}

// Storage configures the embedded S3 bucket.
type Storage struct {
	// KeepVersions bounds the coordinator's versions/ objects: only the
	// newest KeepVersions versions of each file stay, as an S3 lifecycle
	// rule would keep them (0 = keep every version). The head's version is
	// the newest, so late-copy repair always finds it. Embedded S3 only: a
	// real bucket's lifecycle is configured on the bucket.
	KeepVersions int `yaml:"keep_versions"`
}

// Scheduler configures an event scheduler run.
type Scheduler struct {
	// Strategy is self-rescheduling, fixed-interval or one-shot; Compare
	// lists peers run on the same events.
	Strategy string   `yaml:"strategy"`
	Compare  []string `yaml:"compare"`
	// Days is the simulated length.
	Days float64 `yaml:"days"`
	// Clock is "virtual" (discrete events, days in seconds) or "wall".
	Clock           string  `yaml:"clock"`
	NewUsersPerHour float64 `yaml:"new_users_per_hour"`
	EventsPerUser   int     `yaml:"events_per_user"`
	// DueOffsets gives each event's due time after sign-up (seconds);
	// event i uses DueOffsets[i % len(DueOffsets)].
	DueOffsets []Dist `yaml:"due_offsets"`
	// Interval is the fixed-interval strategy's period.
	Interval time.Duration `yaml:"interval"`
	// Jitter is where inside the target minute a rule fires (seconds).
	Jitter        Dist    `yaml:"jitter"`
	DuplicateFire float64 `yaml:"duplicate_fire" unit:"fraction"`
	// UpdateDelay is how long a rule update takes to apply (seconds).
	UpdateDelay Dist `yaml:"update_delay"`
	// UpdateRateLimit is rule updates per second (0 = unlimited).
	UpdateRateLimit float64 `yaml:"update_rate_limit"`
	// Staleness makes store reads eventually consistent (0 = strong).
	Staleness           time.Duration `yaml:"staleness"`
	HandlerTimePerEvent time.Duration `yaml:"handler_time_per_event"`
	// Store is "memory" or "redis".
	Store string `yaml:"store"`
	// Events caps the number of events (0 = no cap).
	Events int64 `yaml:"events"`
	// DueAlign rounds each due time up to a multiple of it (0 = none):
	// events due on minute boundaries, as "at 09:00" reminders are.
	DueAlign time.Duration `yaml:"due_align"`
	// Email makes every event a reminder e-mail (nil: plain events).
	Email *Email `yaml:"email"`
}

// Fault is a fault injected during [Start, End), relative to the run's
// start (End 0 = until the drain begins: every fault is lifted then, so the
// drain and the read-back see a healthy system). Which of Probability,
// Latency, Step, Jump and Code a kind uses is listed in FaultKinds;
// Probability applies per request, command, invocation, event or push.
//
//	s3-error          the handler's and the result API's S3 requests fail
//	                  with Code (503 SlowDown, 500 InternalError, ...)
//	                  before reaching S3; devices' requests are spared
//	s3-latency        those requests take Latency longer
//	redis-latency     Redis commands take Latency longer
//	redis-reply-lost  a coordinator script runs but its reply is lost (the
//	                  client times out): the handler fails not knowing
//	                  whether its step happened, and the event is retried
//	redis-outage      Redis is closed (connections refused) and restarted
//	                  on the same address with its data at End
//	redis-lock-loss   every lock is deleted at Start (a failover to a
//	                  replica that had not seen them), and again whenever a
//	                  handler has just taken a lock, with Probability
//	redis-clock-jump  Redis's clock jumps forward by Jump at Start: TTLs
//	                  (locks) expire early
//	handler-crash     the handler stops at Step (ErrCrash) and the event is
//	                  retried as Lambda would
//	handler-pause     the handler sleeps Latency at Step, by default right
//	                  after taking the lock (after reading, for
//	                  s3-conditional): longer than the lock TTL, the fence
//	                  must refuse its commit
//	redis-lock-expiry the handler stalls Latency at Step and its own lock
//	                  expires at the start of the stall (a pause past the
//	                  TTL, without waiting the TTL out): a waiting upload
//	                  takes the lock while this handler is stalled
//	redis-fence-rollback
//	                  at Step, a failover to a replica that missed the
//	                  latest writes: the handler's lock is gone and its
//	                  file's fencing counter is one lower, so the next
//	                  holder gets the same token; the handler stalls
//	                  Latency
//	event-delay       S3 events come Latency later
//	event-duplicate   S3 events are delivered twice
//	event-reorder     S3 events are held back up to 1s, behind later ones
//	event-drop        S3 events are lost
//	push-outage       pushes are lost; devices fall back to polling
//	hostile-upload    devices send hostile input in turn: a path with "..",
//	                  an absolute path, a control character, a path over
//	                  1024 bytes, 45 metadata entries, no base, another
//	                  user, a wrong SHA-256; each must be rejected
//
// A run with faults also runs the coordinator's reconciler: every second
// it handles staged objects older than 5s (events lost or given up after
// the retries), and once more at the drain. On real endpoints the S3 kinds
// need the embedded S3 and redis-outage and redis-clock-jump need miniredis;
// without them those windows are skipped.
type Fault struct {
	Kind        string        `yaml:"kind"`
	Start       time.Duration `yaml:"start"`
	End         time.Duration `yaml:"end"`
	Probability float64       `yaml:"probability" unit:"fraction"`
	Latency     time.Duration `yaml:"latency"`
	Step        string        `yaml:"step"`
	Jump        time.Duration `yaml:"jump"`
	Code        int           `yaml:"code"`
	// Phase, when set, keys the fault to the workload instead of the
	// clock: it acts only on the handler steps of uploads planned in the
	// named phase (kinds that act at a step), however late they run.
	Phase string `yaml:"phase"`
	// MinInjected is the fault's evidence requirement: a run in which it
	// acted fewer times did not create the situation it exists for, and
	// its verdict is inconclusive, never a pass (0 = no requirement).
	MinInjected int64 `yaml:"min_injected"`
	// MinTaken and MinOvertaken are the evidence of redis-lock-expiry and
	// redis-fence-rollback: how many of their stalls must have seen
	// another holder take the file's lock, and a newer version committed,
	// before the stalled handler went on (0 = no requirement).
	MinTaken     int64 `yaml:"min_taken"`
	MinOvertaken int64 `yaml:"min_overtaken"`
}
