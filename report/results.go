package report

import (
	"time"

	"github.com/stormsim/stormsim/sim/delivery"
)

// Verdicts.
const (
	Pass         = "pass"
	Fail         = "fail"
	Inconclusive = "inconclusive"
)

// Results is results.json: the contract with CI and outside tools
// (docs/contract.md; its schema docs/schema/results.schema.json is
// generated from this type). Add fields freely, with snake_case json tags
// on every field and on every struct they reach; never rename one.
type Results struct {
	Verdict         string           `json:"verdict"`
	Reasons         []string         `json:"reasons"`
	Scenario        string           `json:"scenario"`
	Seed            uint64           `json:"seed"`
	WorkloadHash    string           `json:"workload_hash"`
	Strategy        string           `json:"strategy"`
	Started         time.Time        `json:"started"`
	DurationSeconds float64          `json:"duration_seconds"`
	Rerun           string           `json:"rerun"`
	Partial         bool             `json:"partial,omitempty"` // interrupted run
	Uploads         Uploads          `json:"uploads"`
	Polls           Polls            `json:"polls"`
	Latency         Latency          `json:"latency_seconds"`
	Phases          PhaseLatency     `json:"latency_phases_seconds"`
	Throughput      Throughput       `json:"throughput"`
	Invariants      []Invariant      `json:"invariants"`
	Gates           []Gate           `json:"gates"`
	Errors          map[string]int64 `json:"errors,omitempty"` // by kind
	Scheduler       *Scheduler       `json:"scheduler,omitempty"`
	// Email is set for a scheduler run whose events are e-mails.
	Email   *Email         `json:"email,omitempty"`
	Harness *Harness       `json:"harness,omitempty"`
	Cost    *Cost          `json:"cost,omitempty"`
	Series  []Sample       `json:"series,omitempty"` // per-second time series for charts
	Memory  []MemorySample `json:"memory,omitempty"` // memory samples over the load and drain
	Faults  []FaultWindow  `json:"faults,omitempty"`
	// Repeat is set on a repeated run (simrun --repeat N): the figures
	// above are then medians over the runs, and the gates judge intervals.
	Repeat *Repeat `json:"repeat,omitempty"`
	// Reconciled counts staged objects the coordinator's reconciler handled
	// (runs with faults): uploads whose events were lost or gave up.
	Reconciled int64 `json:"reconciled,omitempty"`
	// ErrorCauses splits error kinds by cause as the history records it
	// (e.g. poll: a poll record's error field), so every count the summary
	// prints can be traced: kind -> cause -> count.
	ErrorCauses map[string]map[string]int64 `json:"error_causes,omitempty"`
	// Mode is "model" for a plan (simrun plan: every figure modelled, none
	// measured); absent for a measured run. Model holds the plan's own
	// figures and its profile.
	Mode  string `json:"mode,omitempty"`
	Model *Model `json:"model,omitempty"`
	// Billing is the users' storage bills from the coordinator's usage
	// events, and the billing check's figures (report/billing.go); absent
	// when the run read no usage back.
	Billing *Billing `json:"billing,omitempty"`
	// Regions is set for a multi-region run (scenario regions:).
	Regions *Regions `json:"regions,omitempty"`
}

// Uploads counts uploads by outcome as the devices saw them.
type Uploads struct {
	Total     int64 `json:"total"`
	Committed int64 `json:"committed"`
	Conflict  int64 `json:"conflict"`
	Rejected  int64 `json:"rejected"`
	Error     int64 `json:"error"`
	Unknown   int64 `json:"unknown"`
	Multipart int64 `json:"multipart"`
	Bytes     int64 `json:"bytes"`
	// CommittedV2Plus counts commits of version 2 or above: uploads that
	// built on an earlier commit (versioning happened). MaxVersion is the
	// highest committed version.
	CommittedV2Plus int64 `json:"committed_v2plus"`
	MaxVersion      int64 `json:"max_version"`
	// Pending counts uploads no server decision had reached when the drain
	// ended, their bytes still staged (a subset of Unknown): a liveness
	// figure, not a loss. PendingReasons splits it by where each one's
	// event was: queued, running, retrying, dead, lost (history kind
	// "pending").
	Pending        int64            `json:"pending"`
	PendingReasons map[string]int64 `json:"pending_reasons,omitempty"`
	// DecidedLate counts uploads whose device gave up waiting (Unknown)
	// but which the server decided later, during the drain.
	DecidedLate int64 `json:"decided_late"`
}

// Polls summarises result queries per upload.
type Polls struct {
	Mean      float64 `json:"mean"`
	P50       float64 `json:"p50"`
	P99       float64 `json:"p99"`
	Max       float64 `json:"max"`
	ZeroShare float64 `json:"zero_share"` // outcome came by push with no poll
	Total     int64   `json:"total"`
	// Histogram: Counts[i] uploads needed i polls (the last bucket holds the rest).
	Counts []int64 `json:"counts,omitempty"`
}

// Latency is in seconds, from the planned instant to the moment the device
// knew the outcome.
type Latency struct {
	Count int64   `json:"count"`
	Mean  float64 `json:"mean"`
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P99   float64 `json:"p99"`
	P999  float64 `json:"p999"`
	Max   float64 `json:"max"`
	// Percentiles is an HDR-style percentile spectrum for plots:
	// pairs of (percentile, seconds).
	Percentiles [][2]float64 `json:"percentiles,omitempty"`
}

// PhaseLatency splits the latency into its phases.
type PhaseLatency struct {
	Queue    Latency `json:"queue"`    // planned instant -> device starts (open-model lag)
	Upload   Latency `json:"upload"`   // start -> staging PUT done
	Decision Latency `json:"decision"` // staged -> server decided
	Notify   Latency `json:"notify"`   // decided -> device knew
}

// Throughput compares the planned and achieved arrival rates.
type Throughput struct {
	PlannedRate      float64 `json:"planned_rate"`
	AchievedRate     float64 `json:"achieved_rate"`
	AchievedRatio    float64 `json:"achieved_ratio"`
	CommitsPerSecond float64 `json:"commits_per_second"`
	UploadsPerSecond float64 `json:"uploads_per_second"`
	MaxInFlight      int64   `json:"max_in_flight"`
}

// Invariant is the outcome of one correctness check.
type Invariant struct {
	Name       string   `json:"name"`
	OK         bool     `json:"ok"`
	Violations int      `json:"violations"`
	Examples   []string `json:"examples"`
	// Inconclusive is set when the check could not finish (a timeout).
	Inconclusive bool   `json:"inconclusive,omitempty"`
	Detail       string `json:"detail,omitempty"`
}

// Gate is one evaluated threshold expression.
type Gate struct {
	Expr  string  `json:"expr"`
	OK    bool    `json:"ok"`
	Value float64 `json:"value"`
	// NoData is set when the metric had no samples (the gate then fails).
	NoData bool `json:"no_data,omitempty"`
	// Inconclusive: the gate neither passed nor failed (OK is then false):
	// on a repeated run, its metric's interval straddles the threshold; on
	// a single run, the harness was saturated enough to move the gate's
	// speed metric, so Value says nothing about the system either way.
	Inconclusive bool `json:"inconclusive,omitempty"`
	// Reason names the harness resource that made the gate inconclusive.
	Reason string `json:"reason,omitempty"`
	// Interval is the interval a repeated run's gate judged (Value is
	// then the median).
	Interval *GateInterval `json:"interval,omitempty"`
}

// Scheduler summarises a scheduler run.
type Scheduler struct {
	Strategy     string          `json:"strategy"`
	Events       int64           `json:"events"`
	Runs         int64           `json:"runs"`
	Early        int64           `json:"early"`
	Missed       int64           `json:"missed"`
	Duplicates   int64           `json:"duplicates"`
	Lateness     Latency         `json:"lateness_seconds"`
	Invocations  int64           `json:"invocations"`
	EmptyWakeups int64           `json:"empty_wakeups"`
	RuleUpdates  int64           `json:"rule_updates"`
	Throttled    int64           `json:"throttled_updates"`
	TheoryMean   float64         `json:"theory_mean_seconds"`
	Peers        []SchedulerPeer `json:"peers,omitempty"`
	// LatenessCounts[i] counts events whose lateness fell in
	// [i, i+1) x LatenessBucketSeconds; the last bucket also holds the rest.
	LatenessCounts        []int64 `json:"lateness_counts,omitempty"`
	LatenessBucketSeconds float64 `json:"lateness_bucket_seconds,omitempty"`
}

// SchedulerPeer is another strategy run on the same events for comparison.
type SchedulerPeer struct {
	Strategy     string  `json:"strategy"`
	MeanLateness float64 `json:"mean_lateness_seconds"`
	P99Lateness  float64 `json:"p99_lateness_seconds"`
	MaxLateness  float64 `json:"max_lateness_seconds"`
	Invocations  int64   `json:"invocations"`
	RuleUpdates  int64   `json:"rule_updates"`
	Early        int64   `json:"early"`
	Missed       int64   `json:"missed"`
	// Cost is this strategy's estimate at the same prices as Results.Cost.
	Cost float64 `json:"cost,omitempty"`
}

// Harness is the harness's own resource use, so a saturated generator
// cannot pass for a slow system.
type Harness struct {
	CPUSeconds          float64 `json:"cpu_seconds"`
	CPUUtilization      float64 `json:"cpu_utilization"` // of all cores, 0..1
	MaxRSSBytes         int64   `json:"max_rss_bytes"`
	Goroutines          int     `json:"max_goroutines"`
	HistoryLines        int64   `json:"history_lines"`
	StoredBytes         int64   `json:"stored_bytes"`
	RedisCalls          int64   `json:"redis_calls"`
	S3Calls             int64   `json:"s3_calls"`
	RedisCallsPerUpload float64 `json:"redis_calls_per_upload"`
	S3CallsPerUpload    float64 `json:"s3_calls_per_upload"`
	// The live heap split by who allocated it (estimated from the heap
	// profile, each sample after a full GC): the harness's own (devices,
	// clients, delivery, history, measurement) and, on the embedded fakes,
	// gofakes3's and miniredis's stored state. The end figures are taken
	// after the drain, with nothing in flight: exact, and comparable
	// between runs of different lengths. The max is an upper bound: a
	// sample under load also counts what the load allocated while the GC
	// ran.
	HeapHarnessMaxBytes int64 `json:"heap_harness_max_bytes,omitempty"`
	HeapHarnessEndBytes int64 `json:"heap_harness_end_bytes,omitempty"`
	HeapFakesEndBytes   int64 `json:"heap_fakes_end_bytes,omitempty"`
	// S3Ops counts S3 requests by operation (PUT, COPY, GET, ...).
	S3Ops map[string]int64 `json:"s3_ops,omitempty"`
	// Delivery counts what happened to S3 event notifications.
	Delivery delivery.Counts `json:"delivery"`
	// Saturation is the harness's own lag and whether it was bound.
	Saturation *Saturation `json:"saturation,omitempty"`
}

// Cost is a pay-as-you-go estimate from counted operations (cost.go
// states the model and its assumptions).
type Cost struct {
	Currency   string             `json:"currency"`
	Total      float64            `json:"total"`
	Per1000    float64            `json:"per_1000_uploads"`
	Items      map[string]float64 `json:"items"`
	PricesAsOf string             `json:"prices_as_of"`
	// PricesSource is "built-in defaults" or the --prices file.
	PricesSource string `json:"prices_source,omitempty"`
	// Quantities holds the counted units behind each item, same keys
	// (requests, GB-seconds, GB-months, node-hours).
	Quantities map[string]float64 `json:"quantities,omitempty"`
	// Per1000Events is the cost per 1,000 scheduler events.
	Per1000Events float64 `json:"per_1000_events,omitempty"`
}

// Sample is one second of the run, for the time-series charts.
type Sample struct {
	Second    float64 `json:"second"`
	Started   int64   `json:"started"`
	Committed int64   `json:"committed"`
	Conflict  int64   `json:"conflict"`
	Errors    int64   `json:"errors"`
	InFlight  int64   `json:"in_flight"`
	// Planned counts the uploads planned for this second (their planned
	// instant), so a chart can draw the planned rate over time.
	Planned int64 `json:"planned,omitempty"`
	// Latency of the uploads planned in this second (seconds; coarse
	// buckets, within 19%).
	LatencyMean float64 `json:"latency_mean,omitempty"`
	LatencyP99  float64 `json:"latency_p99,omitempty"`
}

// MemorySample is the process's memory at one moment of the run.
type MemorySample struct {
	Second           float64 `json:"second"`
	Uploads          int64   `json:"uploads"` // started so far
	RSSBytes         int64   `json:"rss_bytes"`
	HeapHarnessBytes int64   `json:"heap_harness_bytes"`
	HeapFakesBytes   int64   `json:"heap_fakes_bytes"`
}

// FaultWindow is a fault injected from From to To seconds into the run,
// with the run's figures before, during and after it. Before and After
// span as many whole seconds as the window (at least one), clipped to the
// run; During covers the window's whole seconds.
type FaultWindow struct {
	Kind     string       `json:"kind"`
	From     float64      `json:"from"`
	To       float64      `json:"to"`
	Detail   string       `json:"detail,omitempty"` // parameters, e.g. "p=0.1 code=503"
	Injected int64        `json:"injected"`         // requests failed, events dropped, ...
	Before   *WindowStats `json:"before,omitempty"` // nil when the window starts the run
	During   *WindowStats `json:"during,omitempty"`
	After    *WindowStats `json:"after,omitempty"` // nil when the run ends with it
}

// WindowStats are the run's figures over the seconds [From, To): uploads
// that started, uploads that ended by outcome, and the latency of the
// uploads planned in those seconds.
type WindowStats struct {
	From             float64 `json:"from"`
	To               float64 `json:"to"`
	Started          int64   `json:"started"`
	Committed        int64   `json:"committed"`
	Conflict         int64   `json:"conflict"`
	Errors           int64   `json:"errors"` // outcomes error and unknown
	UploadsPerSecond float64 `json:"uploads_per_second"`
	CommitsPerSecond float64 `json:"commits_per_second"`
	ErrorRate        float64 `json:"error_rate"` // errors of the uploads that ended
	// Latency in seconds (coarse buckets: quantiles within 19%).
	LatencyCount int64   `json:"latency_count"`
	LatencyMean  float64 `json:"latency_mean"`
	LatencyP50   float64 `json:"latency_p50"`
	LatencyP99   float64 `json:"latency_p99"`
	LatencyMax   float64 `json:"latency_max"`
}
