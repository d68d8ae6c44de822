package scenarios

import "sort"

// MetricKind is the unit of a gate metric's value.
type MetricKind int

// The kinds of gate metric.
const (
	// KindCount is a number of things, or a mean or quantile of one.
	KindCount MetricKind = iota
	// KindTime is in seconds; a gate on it may use a duration ("2s").
	KindTime
	// KindRatio is a fraction (0.25); a gate may write it as "25%".
	KindRatio
	// KindRate is a number per second.
	KindRate
	// KindMoney is an amount in the price table's currency.
	KindMoney
)

// LagEffect says how the harness's own lag can move a metric, for the
// rule that excuses speed gates of a saturated run (report/saturation.go).
type LagEffect int

// The effects of harness lag on a metric.
const (
	// LagNone: a correctness metric (outcomes, invariants, errors); harness
	// lag never excuses a gate on it.
	LagNone LagEffect = iota
	// LagGrows: a speed metric harness lag can only make larger (latency,
	// scheduler lateness, cost of handler time, uploads left unknown or
	// pending).
	LagGrows
	// LagShrinks: a speed metric harness lag can only make smaller
	// (throughput).
	LagShrinks
	// LagEither: a speed metric harness lag may move either way (polls: a
	// late device timer polls after the outcome, so fewer).
	LagEither
)

// Metric describes one metric a gate may name.
type Metric struct {
	Name    string
	Meaning string // one line, as README.md's gate table says it
	Kind    MetricKind
	Lag     LagEffect
	// Live: a progress snapshot knows the metric during a run and it only
	// grows, so a gate bounding it from above can abort a run early
	// (sim.AbortOnGates).
	Live bool
}

// Speed reports whether harness lag can move the metric.
func (m Metric) Speed() bool { return m.Lag != LagNone }

// Metrics is the one table of gate metrics. The parser (ParseGate), the
// verdict (report's Results.Metric), the saturation excuse rule and
// mid-run abort all read it; tests in those packages fail when one of
// them knows a metric this table does not, or misses one it lists.
var Metrics = []Metric{
	{Name: "uploads.total", Meaning: "uploads started", Live: true},
	{Name: "uploads.committed", Meaning: "uploads that won (committed a new version)", Live: true},
	{Name: "uploads.conflict", Meaning: "uploads that lost and were kept as a conflicted copy", Live: true},
	{Name: "uploads.rejected", Meaning: "uploads rejected before a decision (e.g. stale fence)", Live: true},
	{Name: "uploads.error", Meaning: "uploads that ended in an error", Live: true},
	{Name: "uploads.unknown", Meaning: "uploads whose outcome was never learned", Lag: LagGrows, Live: true},
	{Name: "uploads.pending", Meaning: "uploads still undecided (bytes staged) when the drain ended", Lag: LagGrows},
	{Name: "uploads.conflict_rate", Meaning: "conflict / (committed + conflict)", Kind: KindRatio},
	{Name: "uploads.committed_v2plus", Meaning: "commits of version 2 or above (built on an earlier commit)"},
	{Name: "uploads.max_version", Meaning: "highest committed version"},
	{Name: "polls.mean", Meaning: "mean result polls per upload", Lag: LagEither},
	{Name: "polls.p50", Meaning: "median result polls per upload", Lag: LagEither},
	{Name: "polls.p99", Meaning: "99th percentile of result polls per upload", Lag: LagEither},
	{Name: "polls.max", Meaning: "most result polls of one upload", Lag: LagEither},
	{Name: "polls.zero_share", Meaning: "fraction of uploads resolved by push with no poll", Kind: KindRatio, Lag: LagEither},
	{Name: "latency.mean", Meaning: "mean seconds from planned instant to known outcome", Kind: KindTime, Lag: LagGrows},
	{Name: "latency.p50", Meaning: "median latency, seconds", Kind: KindTime, Lag: LagGrows},
	{Name: "latency.p90", Meaning: "90th percentile latency, seconds", Kind: KindTime, Lag: LagGrows},
	{Name: "latency.p99", Meaning: "99th percentile latency, seconds", Kind: KindTime, Lag: LagGrows},
	{Name: "latency.p999", Meaning: "99.9th percentile latency, seconds", Kind: KindTime, Lag: LagGrows},
	{Name: "latency.max", Meaning: "largest latency, seconds", Kind: KindTime, Lag: LagGrows, Live: true},
	{Name: "throughput.achieved_rate", Meaning: "started uploads per second", Kind: KindRate, Lag: LagShrinks},
	{Name: "throughput.achieved_ratio", Meaning: "achieved rate / planned rate", Kind: KindRatio, Lag: LagShrinks},
	{Name: "throughput.commits_per_second", Meaning: "commits per second", Kind: KindRate, Lag: LagShrinks},
	{Name: "invariants.violations", Meaning: "violations over all invariants"},
	{Name: "errors.total", Meaning: "errors of every kind"},
	{Name: "scheduler.lateness.mean", Meaning: "mean seconds an event ran after its due time", Kind: KindTime, Lag: LagGrows},
	{Name: "scheduler.lateness.p50", Meaning: "median scheduler lateness, seconds", Kind: KindTime, Lag: LagGrows},
	{Name: "scheduler.lateness.p99", Meaning: "99th percentile scheduler lateness, seconds", Kind: KindTime, Lag: LagGrows},
	{Name: "scheduler.lateness.max", Meaning: "largest scheduler lateness, seconds", Kind: KindTime, Lag: LagGrows},
	{Name: "scheduler.early", Meaning: "events run before their due time"},
	{Name: "scheduler.missed", Meaning: "events never run"},
	{Name: "scheduler.duplicates", Meaning: "events run more than once"},
	{Name: "scheduler.events", Meaning: "events scheduled"},
	{Name: "email.duplicates", Meaning: "e-mail copies received beyond the first, per due e-mail"},
	{Name: "email.missed", Meaning: "due e-mails the mail server never received"},
	{Name: "email.early", Meaning: "e-mails received before their due time"},
	{Name: "email.lateness.p99", Meaning: "99th percentile of receive time (at the SMTP server) minus due time, seconds", Kind: KindTime, Lag: LagGrows},
	{Name: "cost.per_1000_uploads", Meaning: "estimated AWS cost per 1000 uploads, USD", Kind: KindMoney, Lag: LagGrows},
	{Name: "delivery.failures", Meaning: "handler invocations that failed (retried or not)", Live: true},
	{Name: "billing.mismatched_users", Meaning: "users whose metered bytes differ from the bytes stored in S3"},
	{Name: "billing.double_counted", Meaning: "usage events metered more than once for one decision"},
	{Name: "regions.lag.p50", Meaning: "worst median replication lag over region pairs, seconds", Kind: KindTime, Lag: LagGrows},
	{Name: "regions.lag.p99", Meaning: "worst 99th percentile replication lag over region pairs, seconds", Kind: KindTime, Lag: LagGrows},
	{Name: "regions.lag.max", Meaning: "largest replication lag of any region pair, seconds", Kind: KindTime, Lag: LagGrows},
	{Name: "regions.lag.recovered_p99", Meaning: "99th percentile replication lag of versions committed after the last regional outage ended, seconds", Kind: KindTime, Lag: LagGrows},
	{Name: "regions.staleness.p99", Meaning: "99th percentile of how long a non-home read was behind home, seconds", Kind: KindTime, Lag: LagGrows},
	{Name: "regions.stale_share", Meaning: "share of non-home reads older than the home head", Kind: KindRatio, Lag: LagEither},
	{Name: "regions.refused", Meaning: "uploads refused because their home region was unreachable"},
	{Name: "regions.replication_failed", Meaning: "replication events whose attempts ran out"},
}

// metricIndex finds a Metrics entry by name.
var metricIndex = func() map[string]int {
	out := make(map[string]int, len(Metrics))
	for i, m := range Metrics {
		if _, dup := out[m.Name]; dup {
			panic("scenarios: gate metric " + m.Name + " listed twice")
		}
		out[m.Name] = i
	}
	return out
}()

// LookupMetric returns the table's entry for a gate metric.
func LookupMetric(name string) (Metric, bool) {
	i, ok := metricIndex[name]
	if !ok {
		return Metric{}, false
	}
	return Metrics[i], true
}

// MetricNames lists the gate metrics, sorted.
func MetricNames() []string {
	out := make([]string, len(Metrics))
	for i, m := range Metrics {
		out[i] = m.Name
	}
	sort.Strings(out)
	return out
}

// GateMetrics maps every gate metric to its meaning (README.md has the
// same table). It is derived from Metrics; read that for a metric's unit,
// lag effect and liveness.
var GateMetrics = func() map[string]string {
	out := make(map[string]string, len(Metrics))
	for _, m := range Metrics {
		out[m.Name] = m.Meaning
	}
	return out
}()
