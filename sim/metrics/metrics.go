// Package metrics defines the harness's Prometheus collectors. It is a
// leaf package so that the engine (sim) can update them while report only
// renders a prometheus.Gatherer: neither imports the other.
//
// Names start with stormsim_ and use base units (seconds, bytes). Labels
// take values from small closed sets; anything else is counted as
// "other", so an upload id (or any unbounded value) can never become a
// label and blow up the series count. Register on the run's own registry,
// never the global one.
package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/stormsim/stormsim/sim/history"
)

// Upload outcomes, as the devices saw them (the outcome label): the
// history's spellings.
const (
	Committed = string(history.OutcomeCommitted)
	Conflict  = string(history.OutcomeConflict)
	Rejected  = string(history.OutcomeRejected)
	Error     = string(history.OutcomeError)
	Unknown   = string(history.OutcomeUnknown)
)

// Handler invocation results (the result label).
const (
	HandlerOK        = "ok"        // decided and committed or conflicted
	HandlerDuplicate = "duplicate" // a duplicate event, recognised and ignored
	HandlerRetry     = "retry"     // failed; the event will be redelivered
	HandlerCrash     = "crash"     // injected crash between two steps
	HandlerError     = "error"     // failed for good
)

// S3 operations (the op label), named as in the S3 API.
const (
	OpPut               = "PutObject"
	OpCopy              = "CopyObject"
	OpGet               = "GetObject"
	OpHead              = "HeadObject"
	OpDelete            = "DeleteObject"
	OpList              = "ListObjectsV2"
	OpCreateMultipart   = "CreateMultipartUpload"
	OpUploadPart        = "UploadPart"
	OpCompleteMultipart = "CompleteMultipartUpload"
	OpAbortMultipart    = "AbortMultipartUpload"
)

// other replaces a label value outside its closed set.
const other = "other"

var (
	outcomes       = []string{Committed, Conflict, Rejected, Error, Unknown}
	handlerResults = []string{HandlerOK, HandlerDuplicate, HandlerRetry, HandlerCrash, HandlerError}
	s3Ops          = []string{OpPut, OpCopy, OpGet, OpHead, OpDelete, OpList,
		OpCreateMultipart, OpUploadPart, OpCompleteMultipart, OpAbortMultipart}
)

// Histogram buckets, in base units.
var (
	// LatencyBuckets spans a fast loopback decision (1 ms) to a late S3
	// notification (minutes).
	LatencyBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300}
	// PollBuckets: the design aims at about one poll, zero with a push.
	PollBuckets = []float64{0, 1, 2, 3, 4, 5, 8, 13, 21}
	// LatenessBuckets: minute resolution gives 0..60 s; beyond is drift.
	LatenessBuckets = []float64{0, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55, 60, 75, 90, 120, 300, 600}
)

// Set holds the run's collectors. All methods are safe for concurrent use
// and do nothing on a nil *Set, so the engine can run without metrics.
type Set struct {
	UploadLatency      *prometheus.HistogramVec // stormsim_upload_latency_seconds{outcome}
	PollsPerUpload     prometheus.Histogram     // stormsim_polls_per_upload
	Uploads            *prometheus.CounterVec   // stormsim_uploads_total{outcome}
	UploadBytes        prometheus.Counter       // stormsim_upload_bytes_total
	InFlight           prometheus.Gauge         // stormsim_inflight_uploads
	HandlerInvocations *prometheus.CounterVec   // stormsim_handler_invocations_total{result}
	Conflicts          prometheus.Counter       // stormsim_conflicts_total
	SchedulerLateness  prometheus.Histogram     // stormsim_scheduler_lateness_seconds
	S3Requests         *prometheus.CounterVec   // stormsim_s3_requests_total{op}
	RedisCalls         prometheus.Counter       // stormsim_redis_calls_total
}

// New creates the collectors and registers them on reg. It panics if one
// is already registered there, like prometheus.MustRegister: a run has
// one registry and one Set.
func New(reg prometheus.Registerer) *Set {
	s := &Set{
		UploadLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "stormsim_upload_latency_seconds",
			Help:    "Upload latency from the planned instant to the moment the device knew the outcome.",
			Buckets: LatencyBuckets,
		}, []string{"outcome"}),
		PollsPerUpload: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "stormsim_polls_per_upload",
			Help:    "Result queries a device made before it knew its upload's outcome (0: the push came first).",
			Buckets: PollBuckets,
		}),
		Uploads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stormsim_uploads_total",
			Help: "Finished uploads by outcome as the devices saw it.",
		}, []string{"outcome"}),
		UploadBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "stormsim_upload_bytes_total",
			Help: "Bytes uploaded to staging.",
		}),
		InFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "stormsim_inflight_uploads",
			Help: "Uploads started whose outcome the device does not know yet.",
		}),
		HandlerInvocations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stormsim_handler_invocations_total",
			Help: "Handler invocations by result.",
		}, []string{"result"}),
		Conflicts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "stormsim_conflicts_total",
			Help: "Uploads the handler decided as conflicts (base was not the head).",
		}),
		SchedulerLateness: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "stormsim_scheduler_lateness_seconds",
			Help:    "How late scheduled events ran after their due time (negative: early).",
			Buckets: LatenessBuckets,
		}),
		S3Requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stormsim_s3_requests_total",
			Help: "S3 requests by operation.",
		}, []string{"op"}),
		RedisCalls: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "stormsim_redis_calls_total",
			Help: "Redis commands and scripts sent.",
		}),
	}
	reg.MustRegister(s.UploadLatency, s.PollsPerUpload, s.Uploads, s.UploadBytes, s.InFlight,
		s.HandlerInvocations, s.Conflicts, s.SchedulerLateness, s.S3Requests, s.RedisCalls)
	// Known label values start at zero so that dashboards and rate() see
	// every series from the first scrape.
	for _, o := range outcomes {
		s.Uploads.WithLabelValues(o)
		s.UploadLatency.WithLabelValues(o)
	}
	for _, r := range handlerResults {
		s.HandlerInvocations.WithLabelValues(r)
	}
	for _, op := range s3Ops {
		s.S3Requests.WithLabelValues(op)
	}
	return s
}

// UploadStarted counts an upload in flight. Every call must be followed
// by exactly one ObserveUpload, with outcome Unknown if it never ends.
func (s *Set) UploadStarted() {
	if s == nil {
		return
	}
	s.InFlight.Inc()
}

// ObserveUpload records a finished upload: its outcome, its latency from
// the planned instant, and the polls it needed. It ends one UploadStarted.
func (s *Set) ObserveUpload(outcome string, latency time.Duration, polls int) {
	if s == nil {
		return
	}
	outcome = closed(outcome, outcomes)
	s.InFlight.Dec()
	s.Uploads.WithLabelValues(outcome).Inc()
	s.UploadLatency.WithLabelValues(outcome).Observe(latency.Seconds())
	s.PollsPerUpload.Observe(float64(polls))
}

// AddUploadBytes counts bytes uploaded to staging.
func (s *Set) AddUploadBytes(n int64) {
	if s == nil || n <= 0 {
		return
	}
	s.UploadBytes.Add(float64(n))
}

// HandlerInvoked counts one handler invocation with its result.
func (s *Set) HandlerInvoked(result string) {
	if s == nil {
		return
	}
	s.HandlerInvocations.WithLabelValues(closed(result, handlerResults)).Inc()
}

// Conflict counts one upload decided as a conflict by the handler.
func (s *Set) Conflict() {
	if s == nil {
		return
	}
	s.Conflicts.Inc()
}

// ObserveLateness records how late a scheduled event ran (negative when
// early).
func (s *Set) ObserveLateness(lateness time.Duration) {
	if s == nil {
		return
	}
	s.SchedulerLateness.Observe(lateness.Seconds())
}

// S3Request counts one S3 request; op is one of the Op constants.
func (s *Set) S3Request(op string) {
	if s == nil {
		return
	}
	s.S3Requests.WithLabelValues(closed(op, s3Ops)).Inc()
}

// RedisCall counts n Redis commands (a pipeline counts each command).
func (s *Set) RedisCall(n int) {
	if s == nil || n <= 0 {
		return
	}
	s.RedisCalls.Add(float64(n))
}

// closed returns v when it is in set, and "other" otherwise.
func closed(v string, set []string) string {
	for _, x := range set {
		if v == x {
			return v
		}
	}
	return other
}
