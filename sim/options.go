package sim

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/stormsim/stormsim/coordinator"
	"github.com/stormsim/stormsim/scenarios"
	"github.com/stormsim/stormsim/sim/checker"
	"github.com/stormsim/stormsim/sim/delivery"
	"github.com/stormsim/stormsim/sim/env"
	"github.com/stormsim/stormsim/sim/measure"
	"github.com/stormsim/stormsim/sim/schedsim"
	"github.com/stormsim/stormsim/sim/traffic"
)

// Options configure a run.
type Options struct {
	Scenario *scenarios.Scenario
	// Seed is the root seed (the scenario's seed unless overridden).
	Seed uint64
	// OutDir receives history.jsonl; it must exist.
	OutDir string
	// Env is the environment; nil starts the embedded fakes.
	Env *env.Env
	// Progress, when set, is called about once a second.
	Progress func(Progress)
	// MaxInFlight bounds concurrent uploads (default 20,000); arrivals
	// beyond it wait, and their latency counts the wait.
	MaxInFlight int
	// Mutant, when set, breaks the system on purpose (self-test only).
	Mutant *Mutant
	// CheckTimeout bounds the linearizability check (default 60s).
	CheckTimeout time.Duration
	// Registry receives the run's Prometheus metrics (serve it live with
	// promhttp); nil makes a private one. Result.Gatherer reads it back.
	Registry *prometheus.Registry
	// Shard, when N > 1, makes this process drive only the users u with
	// u % N == I: N generator processes (on one machine or several) split
	// one scenario into disjoint slices; `simrun check` merges their
	// histories. The planned rate and count are this shard's share.
	Shard traffic.Shard
	// KeyPrefix starts every Redis key of the run (default "stormsim:"), so
	// runs sharing a server never touch each other's data.
	KeyPrefix string
	// ObjectPrefix starts every S3 key of the run (default none: staging/
	// and files/ at the bucket's root); "" or ending in "/".
	ObjectPrefix string
	// External, when set, hands events to coordinator processes through a
	// shared Redis Stream instead of handling them in-process.
	External *delivery.External
	// ResultAPI, when set, is a deployed system's result API: the devices
	// poll it, with tokens signed by its secret, instead of one the run
	// serves, and the run neither handles nor delivers events (the
	// deployment's storage server notifies its own coordinator). Env must
	// then be real servers shared with the deployment.
	ResultAPI *RemoteAPI
	// Abort, when set, sees the progress snapshot about once a second; when
	// it says stop, the arrivals stop, uploads in flight get a few seconds
	// to finish, the drain is cut short and Result.Aborted holds the reason.
	// A scenario with abort_on_fail gets AbortOnGates of its gates.
	Abort func(Progress) (reason string, stop bool)
	// Drained, when set, runs once the drain has ended, before the
	// read-back: the environment and everything the run built are still
	// up (simrun writes --memprofile here).
	Drained func()
}

// RemoteAPI is a result API the run does not serve.
type RemoteAPI struct {
	// URL is the API's base URL (GET URL/v1/uploads/{id}).
	URL string
	// Tokens sign the devices' bearer tokens with the deployment's secret.
	Tokens coordinator.Tokens
}

// stopGrace is how long the handlers in progress when the drain ends may
// take to finish before they are cancelled (Delivery.Stop).
const stopGrace = 30 * time.Second

// Progress is a snapshot for a progress display.
type Progress struct {
	Elapsed          time.Duration
	Planned, Started int64
	Done, InFlight   int64
	Committed        int64
	Conflict         int64
	Errors           int64 // outcomes error and unknown
	Pending          int64 // events not yet handled
	Rejected         int64
	Unknown          int64         // outcomes unknown (also in Errors)
	LatencyMax       time.Duration // the slowest known outcome so far
	// DeliveryFailures counts failed handler invocations so far.
	DeliveryFailures int64
}

// Result is everything a run measured; package report renders it.
type Result struct {
	Scenario     string
	Seed         uint64
	WorkloadHash string
	Strategy     string
	Started      time.Time
	Elapsed      time.Duration // whole run including the drain
	Window       time.Duration // the arrival window
	Planned      int64
	PlannedRate  float64
	Launched     int64
	Measure      measure.Snapshot
	Delivery     delivery.Counts
	Check        checker.Report
	Interrupted  bool
	// Aborted is why Options.Abort stopped the run ("" when it did not).
	Aborted      string
	DrainTimeout bool
	// External says why events handed to coordinator processes
	// (Options.External) were not finished in time ("" when all were).
	External string
	// Unmet lists the faults that acted fewer times than their
	// min_injected: the run did not create the situation it exists for,
	// so its verdict is inconclusive.
	Unmet        []string
	HistoryLines int64
	Decisions    map[string]int64
	Harness      measure.HarnessUse
	Ops          env.OpCounts
	// Gatherer holds the run's Prometheus metrics (for metrics.prom).
	Gatherer prometheus.Gatherer
	// Scheduler is the wall-clock scheduler run beside the uploads, when the
	// scenario has both.
	Scheduler *schedsim.Result
	// Memory samples the process's memory over the load and the drain,
	// with the live heap split between the harness and the embedded fakes.
	Memory []measure.MemSample
	// StoredBytes is what the bucket holds under the run's prefix at the
	// end (in memory, for the embedded fake).
	StoredBytes int64
	// HandlerSeconds is the time spent in handler invocations (for the
	// GB-second cost estimate).
	HandlerSeconds float64
	// Saturation is the harness's own lag over the load and the drain.
	Saturation measure.Saturation
}

// withDefaults fills in the defaults of unset options.
func (o Options) withDefaults() Options {
	if o.MaxInFlight <= 0 {
		o.MaxInFlight = 20000
	}
	if o.CheckTimeout <= 0 {
		o.CheckTimeout = 60 * time.Second
	}
	if o.Abort == nil && o.Scenario.AbortOnFail {
		o.Abort = AbortOnGates(o.Scenario.ParsedGates)
	}
	if o.Registry == nil {
		o.Registry = prometheus.NewRegistry()
	}
	return o
}
