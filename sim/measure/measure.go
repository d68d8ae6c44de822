package measure

import (
	"math"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/stormsim/stormsim/sim/history"
)

// maxPollBucket is the last bucket of the polls-per-upload histogram.
const maxPollBucket = 32

// Recorder aggregates client-visible measurements with bounded memory: HDR
// histograms and per-second counters.
type Recorder struct {
	start time.Time

	total atomic.Int64 // uploads started
	maxGo atomic.Int64 // most goroutines seen when an upload started

	mu sync.Mutex // guards everything below
	// inflight changes under mu so that each second's last value is the
	// count after its last event.
	inflight, maxInflight int64
	latency               *hdrhistogram.Histogram
	phases                [4]*hdrhistogram.Histogram // queue, upload, decision, notify
	polls                 [maxPollBucket + 1]int64
	pollsHist             *hdrhistogram.Histogram
	pushOnly              int64
	outcomes              map[history.Outcome]int64
	errors                map[string]int64
	causes                map[string]map[string]int64 // kind -> cause -> count (maxCauses per kind)
	multipart             int64
	bytes                 int64
	series                []Second
	faults                []FaultSpan
	reconciled            int64
	v2plus                int64 // committed uploads whose version is >= 2
	maxVersion            int64
	decidedFrom           time.Time // first and last decision a device learned
	decidedTo             time.Time
}

// Second is one second of the run. The counts are by the second an upload
// started or ended; Planned counts the uploads whose planned instant fell
// in this second (a burst is a spike here, not a run-long average);
// InFlight is the most uploads in flight at any moment of the second,
// carried over seconds in which nothing started or ended (after the
// arrivals stop, uploads stay in flight until they end). Latency is of the
// uploads planned in this second that got an outcome, so a fault's effect
// shows in the seconds it was active.
type Second struct {
	Started, Committed, Conflict, Errors, InFlight, Planned int64
	Latency                                                 LatencyBuckets

	seen bool  // an upload started or ended in this second
	last int64 // in flight after the last of those
}

// LatencyBuckets is a coarse latency histogram for one second: bucket i
// counts latencies in [2^((i-1)/4), 2^(i/4)) ms (bucket 0: below 1ms), so
// quantiles are within 19%; Sum and Max are exact. It stays a fixed 300
// bytes whatever the load.
type LatencyBuckets struct {
	N        [latencyBuckets]uint32
	Sum, Max time.Duration
}

const latencyBuckets = 64

// Add records one latency.
func (b *LatencyBuckets) Add(d time.Duration) {
	i := 0
	if ms := float64(d) / float64(time.Millisecond); ms >= 1 {
		i = min(int(4*math.Log2(ms))+1, latencyBuckets-1)
	}
	b.N[i]++
	b.Sum += d
	b.Max = max(b.Max, d)
}

// Merge adds o's counts to b.
func (b *LatencyBuckets) Merge(o *LatencyBuckets) {
	for i, n := range o.N {
		b.N[i] += n
	}
	b.Sum += o.Sum
	b.Max = max(b.Max, o.Max)
}

// Count is the number of latencies recorded.
func (b *LatencyBuckets) Count() int64 {
	var n int64
	for _, c := range b.N {
		n += int64(c)
	}
	return n
}

// Mean is the mean latency (0 when empty).
func (b *LatencyBuckets) Mean() time.Duration {
	if n := b.Count(); n > 0 {
		return b.Sum / time.Duration(n)
	}
	return 0
}

// Quantile returns the upper bound of the bucket holding quantile q (0..1),
// capped at Max.
func (b *LatencyBuckets) Quantile(q float64) time.Duration {
	n := b.Count()
	if n == 0 {
		return 0
	}
	rank := int64(math.Ceil(q * float64(n)))
	var seen int64
	for i, c := range b.N {
		seen += int64(c)
		if seen >= max(rank, 1) {
			upper := time.Duration(math.Exp2(float64(i)/4) * float64(time.Millisecond))
			return min(upper, b.Max)
		}
	}
	return b.Max
}

// Phase names of the latency split.
var PhaseNames = [4]string{"queue", "upload", "decision", "notify"}

func newHist() *hdrhistogram.Histogram {
	return hdrhistogram.New(1, int64(time.Hour/time.Microsecond), 3)
}

// NewRecorder returns a recorder whose seconds count from start.
func NewRecorder(start time.Time) *Recorder {
	// Every instant the recorder takes is compared by its wall reading
	// (Round(0) drops the monotonic one): that is what the history keeps,
	// so replaying a history (Replay) gives the very figures the run
	// recorded, to the microsecond.
	r := &Recorder{start: start.Round(0), latency: newHist(), pollsHist: hdrhistogram.New(0, 1_000_000, 3),
		outcomes: map[history.Outcome]int64{}, errors: map[string]int64{}}
	for i := range r.phases {
		r.phases[i] = newHist()
	}
	return r
}

func (r *Recorder) second(t time.Time) *Second {
	i := int(t.Sub(r.start) / time.Second)
	if i < 0 {
		i = 0
	}
	for len(r.series) <= i {
		r.series = append(r.series, Second{})
	}
	return &r.series[i]
}

// Started records an upload starting at at.
func (r *Recorder) Started(at time.Time) {
	if g := int64(runtime.NumGoroutine()); g > r.maxGo.Load() {
		r.maxGo.Store(g) // a racy max is fine: it is a gauge for people
	}
	r.started(at)
}

// started counts an upload starting at at, without the goroutine gauge
// (a replay has no goroutines of the run to count).
func (r *Recorder) started(at time.Time) {
	r.total.Add(1)
	r.mu.Lock()
	r.inflight++
	n := r.inflight
	r.maxInflight = max(r.maxInflight, n)
	s := r.second(at)
	s.Started++
	s.InFlight = max(s.InFlight, n)
	s.seen, s.last = true, n
	r.mu.Unlock()
}

func us(d time.Duration) int64 { return max(int64(d/time.Microsecond), 1) }

// between is b-a by the wall readings, as the history keeps them.
func between(a, b time.Time) time.Duration { return b.Round(0).Sub(a.Round(0)) }

// Finished records one upload's end; decided is zero when unknown.
func (r *Recorder) Finished(u *history.Upload, decided time.Time, errKind string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.inflight--
	n := r.inflight
	// Every launched upload ends here once: count it by its planned second.
	r.second(u.Intended).Planned++
	r.outcomes[u.Outcome]++
	r.bytes += u.Size
	if u.Parts > 0 {
		r.multipart++
	}
	s := r.second(u.Done)
	// Until this moment the upload was in flight in this second too.
	s.InFlight = max(s.InFlight, n+1)
	s.seen, s.last = true, n
	if u.Outcome == history.OutcomeCommitted || u.Outcome == history.OutcomeConflict {
		if r.decidedFrom.IsZero() || u.Done.Before(r.decidedFrom) {
			r.decidedFrom = u.Done
		}
		if u.Done.After(r.decidedTo) {
			r.decidedTo = u.Done
		}
	}
	switch u.Outcome {
	case history.OutcomeCommitted:
		s.Committed++
		if u.Version >= 2 {
			r.v2plus++
		}
		r.maxVersion = max(r.maxVersion, u.Version)
	case history.OutcomeConflict:
		s.Conflict++
	case history.OutcomeError, history.OutcomeUnknown:
		s.Errors++
	}
	if u.Outcome != history.OutcomeError && u.Outcome != history.OutcomeUnknown {
		// s may be stale once second() grows the series: not used below.
		r.second(u.Intended).Latency.Add(between(u.Intended, u.Done))
	}
	if errKind != "" {
		r.errors[errKind]++
	}
	if u.Outcome == history.OutcomeError || u.Outcome == history.OutcomeUnknown {
		return
	}
	_ = r.latency.RecordValue(us(between(u.Intended, u.Done)))
	// Queue is launch lag: a follow-on edit's wait for its device's
	// previous outcome (Ready) is the system's time, not the harness's.
	_ = r.phases[0].RecordValue(us(between(u.QueueFrom(), u.Start)))
	_ = r.phases[1].RecordValue(us(between(u.Start, u.Staged)))
	if !decided.IsZero() {
		_ = r.phases[2].RecordValue(us(between(u.Staged, decided)))
		_ = r.phases[3].RecordValue(us(between(decided, u.Done)))
	}
	r.polls[min(u.Polls, maxPollBucket)]++
	_ = r.pollsHist.RecordValue(int64(u.Polls))
	if u.Polls == 0 && u.Push {
		r.pushOnly++
	}
}

// SetFaults records the fault windows of the run.
func (r *Recorder) SetFaults(spans []FaultSpan) {
	r.mu.Lock()
	r.faults = append([]FaultSpan(nil), spans...)
	r.mu.Unlock()
}

func (r *Recorder) SetReconciled(n int64) {
	r.mu.Lock()
	r.reconciled = n
	r.mu.Unlock()
}

func (r *Recorder) ErrorKind(kind string) {
	r.mu.Lock()
	r.errors[kind]++
	r.mu.Unlock()
}

// maxCauses bounds the distinct causes kept per error kind; the rest are
// counted under "other".
const maxCauses = 8

// errorCause counts one error of kind with its cause (errorCause), so the
// summary can say what each count was.
func (r *Recorder) ErrorCause(kind, cause string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors[kind]++
	if r.causes == nil {
		r.causes = map[string]map[string]int64{}
	}
	m := r.causes[kind]
	if m == nil {
		m = map[string]int64{}
		r.causes[kind] = m
	}
	if _, ok := m[cause]; !ok && len(m) >= maxCauses {
		cause = "other"
	}
	m[cause]++
}

// addrPattern matches what makes error texts of one cause differ: host
// and port, and the upload id in a URL path.
var addrPattern = regexp.MustCompile(`\d+\.\d+\.\d+\.\d+:\d+|\[[0-9a-f:]+\]:\d+|/v1/uploads/[^"\s]+`)

// errorCause is err's text without addresses or ids, so that errors of one
// cause count together ("Get http://ADDR/v1/uploads/ID: context deadline
// exceeded").
func Cause(err error) string {
	msg := addrPattern.ReplaceAllStringFunc(err.Error(), func(s string) string {
		if strings.HasPrefix(s, "/v1/uploads/") {
			return "/v1/uploads/ID"
		}
		return "ADDR"
	})
	if len(msg) > 160 {
		msg = msg[:160] + "..."
	}
	return msg
}

// FaultSpan is one fault window as it was injected, relative to the run's
// start. Windows that had not begun when the drain started never run and
// have no span.
type FaultSpan struct {
	Kind     string
	From, To time.Duration
	// Injected counts what the fault did: requests failed or slowed,
	// commands slowed, crashes, pauses, failovers, events dropped, delayed,
	// duplicated or held back, pushes lost, hostile uploads sent.
	Injected int64
	Detail   string // the parameters, e.g. "p=0.1 code=503"
}

// Total is the number of uploads started so far.
func (r *Recorder) Total() int64 { return r.total.Load() }

// Start is the run's start, the origin of its seconds.
func (r *Recorder) Start() time.Time { return r.start }
