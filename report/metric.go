package report

// Metric returns a gate metric's value; ok is false when it has no samples
// (or the name is not a gate metric).
func (r *Results) Metric(name string) (float64, bool) {
	read, ok := metricReaders[name]
	if !ok {
		return 0, false
	}
	return read(r)
}

// metricReader reads one gate metric from results; ok is false when the
// run has no samples of it.
type metricReader func(r *Results) (v float64, ok bool)

// metricReaders say how each gate metric of scenarios.Metrics is read from
// Results (TestMetricReaders_Table_Same keeps the two in step).
var metricReaders = map[string]metricReader{
	"uploads.total":     uploadCount(func(u Uploads) int64 { return u.Total }),
	"uploads.committed": uploadCount(func(u Uploads) int64 { return u.Committed }),
	"uploads.conflict":  uploadCount(func(u Uploads) int64 { return u.Conflict }),
	"uploads.rejected":  uploadCount(func(u Uploads) int64 { return u.Rejected }),
	"uploads.error":     uploadCount(func(u Uploads) int64 { return u.Error }),
	"uploads.unknown":   uploadCount(func(u Uploads) int64 { return u.Unknown }),
	"uploads.pending":   uploadCount(func(u Uploads) int64 { return u.Pending }),
	"uploads.conflict_rate": func(r *Results) (float64, bool) {
		u := r.Uploads
		d := u.Committed + u.Conflict
		return float64(u.Conflict) / float64(max(d, 1)), d > 0
	},
	"uploads.committed_v2plus": uploadCount(func(u Uploads) int64 { return u.CommittedV2Plus }),
	"uploads.max_version":      uploadCount(func(u Uploads) int64 { return u.MaxVersion }),

	"polls.mean":       pollsMetric(func(p Polls) float64 { return p.Mean }),
	"polls.p50":        pollsMetric(func(p Polls) float64 { return p.P50 }),
	"polls.p99":        pollsMetric(func(p Polls) float64 { return p.P99 }),
	"polls.max":        pollsMetric(func(p Polls) float64 { return p.Max }),
	"polls.zero_share": pollsMetric(func(p Polls) float64 { return p.ZeroShare }),

	"latency.mean": latencyMetric(func(l Latency) float64 { return l.Mean }),
	"latency.p50":  latencyMetric(func(l Latency) float64 { return l.P50 }),
	"latency.p90":  latencyMetric(func(l Latency) float64 { return l.P90 }),
	"latency.p99":  latencyMetric(func(l Latency) float64 { return l.P99 }),
	"latency.p999": latencyMetric(func(l Latency) float64 { return l.P999 }),
	"latency.max":  latencyMetric(func(l Latency) float64 { return l.Max }),

	"throughput.achieved_rate":      throughputMetric(func(t Throughput) float64 { return t.AchievedRate }),
	"throughput.achieved_ratio":     throughputMetric(func(t Throughput) float64 { return t.AchievedRatio }),
	"throughput.commits_per_second": throughputMetric(func(t Throughput) float64 { return t.CommitsPerSecond }),

	"invariants.violations": func(r *Results) (float64, bool) {
		n := 0
		for _, inv := range r.Invariants {
			n += inv.Violations
		}
		return float64(n), len(r.Invariants) > 0
	},
	"errors.total": func(r *Results) (float64, bool) {
		var n int64
		for _, v := range r.Errors {
			n += v
		}
		return float64(n), true
	},

	"scheduler.lateness.mean": schedulerMetric(func(s *Scheduler) float64 { return s.Lateness.Mean }),
	"scheduler.lateness.p50":  schedulerMetric(func(s *Scheduler) float64 { return s.Lateness.P50 }),
	"scheduler.lateness.p99":  schedulerMetric(func(s *Scheduler) float64 { return s.Lateness.P99 }),
	"scheduler.lateness.max":  schedulerMetric(func(s *Scheduler) float64 { return s.Lateness.Max }),
	"scheduler.early":         schedulerMetric(func(s *Scheduler) float64 { return float64(s.Early) }),
	"scheduler.missed":        schedulerMetric(func(s *Scheduler) float64 { return float64(s.Missed) }),
	"scheduler.duplicates":    schedulerMetric(func(s *Scheduler) float64 { return float64(s.Duplicates) }),
	"scheduler.events":        schedulerMetric(func(s *Scheduler) float64 { return float64(s.Events) }),

	"email.duplicates":   emailMetric(func(e *Email) (float64, bool) { return float64(e.Duplicates), true }),
	"email.missed":       emailMetric(func(e *Email) (float64, bool) { return float64(e.Missed), true }),
	"email.early":        emailMetric(func(e *Email) (float64, bool) { return float64(e.Early), true }),
	"email.lateness.p99": emailMetric(func(e *Email) (float64, bool) { return e.Lateness.P99, e.Lateness.Count > 0 }),

	"delivery.failures": func(r *Results) (float64, bool) {
		if r.Harness == nil {
			return 0, false
		}
		return float64(r.Harness.Delivery.Failures), r.Uploads.Total > 0
	},
	"billing.mismatched_users": func(r *Results) (float64, bool) {
		if r.Billing == nil {
			return 0, false
		}
		return float64(r.Billing.MismatchedUsers), true
	},
	"billing.double_counted": func(r *Results) (float64, bool) {
		if r.Billing == nil {
			return 0, false
		}
		return float64(r.Billing.DoubleCounted), true
	},
	"regions.lag.p50": worstLag(func(l RegionLag) float64 { return l.P50 }),
	"regions.lag.p99": worstLag(func(l RegionLag) float64 { return l.P99 }),
	"regions.lag.max": worstLag(func(l RegionLag) float64 { return l.Max }),
	"regions.lag.recovered_p99": regionsMetric(func(g *Regions) (float64, bool) {
		if g.Recovered == nil {
			return 0, false
		}
		return g.Recovered.P99, true
	}),
	"regions.staleness.p99":      regionsMetric(func(g *Regions) (float64, bool) { return g.Staleness.P99, g.Staleness.Reads > 0 }),
	"regions.stale_share":        regionsMetric(func(g *Regions) (float64, bool) { return g.Staleness.Share, g.Staleness.Reads > 0 }),
	"regions.refused":            regionsMetric(func(g *Regions) (float64, bool) { return float64(g.Refused), true }),
	"regions.replication_failed": regionsMetric(func(g *Regions) (float64, bool) { return float64(g.ReplicationFailed), true }),

	"cost.per_1000_uploads": func(r *Results) (float64, bool) {
		if r.Cost == nil {
			return 0, false
		}
		return r.Cost.Per1000, r.Uploads.Total > 0
	},
}

// uploadCount reads an upload count; it always has a value.
func uploadCount(f func(Uploads) int64) metricReader {
	return func(r *Results) (float64, bool) { return float64(f(r.Uploads)), true }
}

// pollsMetric reads a polls figure: samples exist once an upload was decided.
func pollsMetric(f func(Polls) float64) metricReader {
	return func(r *Results) (float64, bool) {
		u := r.Uploads
		return f(r.Polls), u.Committed+u.Conflict+u.Rejected > 0
	}
}

// latencyMetric reads an end-to-end latency figure, in seconds.
func latencyMetric(f func(Latency) float64) metricReader {
	return func(r *Results) (float64, bool) { return f(r.Latency), r.Latency.Count > 0 }
}

// throughputMetric reads a throughput figure: samples exist once an upload started.
func throughputMetric(f func(Throughput) float64) metricReader {
	return func(r *Results) (float64, bool) { return f(r.Throughput), r.Uploads.Total > 0 }
}

// schedulerMetric reads a scheduler figure: samples exist once an event was
// scheduled.
func schedulerMetric(f func(*Scheduler) float64) metricReader {
	return func(r *Results) (float64, bool) {
		if r.Scheduler == nil || r.Scheduler.Events == 0 {
			return 0, false
		}
		return f(r.Scheduler), true
	}
}
