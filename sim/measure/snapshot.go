package measure

import (
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/stormsim/stormsim/sim/history"
)

// Snapshot is a consistent copy of the measurements.
type Snapshot struct {
	Latency   *hdrhistogram.Histogram
	Phases    [4]*hdrhistogram.Histogram
	Polls     []int64
	PollsHist *hdrhistogram.Histogram
	PushOnly  int64
	Outcomes  map[history.Outcome]int64
	Errors    map[string]int64
	Multipart int64
	Bytes     int64
	Series    []Second
	// Faults are the fault windows as injected (set at the drain).
	Faults []FaultSpan
	// Reconciled counts staged objects the reconciler handled (runs with
	// faults only): uploads whose events were lost or gave up.
	Reconciled  int64
	InFlight    int64
	MaxInFlight int64
	// MaxGoroutines is the most goroutines the process had when an upload
	// started.
	MaxGoroutines int64
	// CommittedV2Plus counts committed uploads whose version is >= 2
	// (they built on an earlier commit); MaxVersion is the highest version
	// a device learned it committed.
	CommittedV2Plus, MaxVersion int64
	// DecidedFrom and DecidedTo are when the first and the last device
	// learned a decision (committed or conflict): the exact window over
	// which decisions per second are counted (zero when none was).
	DecidedFrom, DecidedTo time.Time
	// ErrorCauses splits some error kinds (poll) by cause, as recorded in
	// the history (a poll record's error field).
	ErrorCauses map[string]map[string]int64
}

// inFlightCarried copies the series; a second in which no upload started
// or ended keeps the in-flight count the previous second ended with.
func inFlightCarried(series []Second) []Second {
	out := append([]Second(nil), series...)
	var carry int64
	for i := range out {
		if out[i].seen {
			carry = out[i].last
		} else {
			out[i].InFlight = carry
		}
	}
	return out
}

// Snapshot copies the measurements (safe during a run, for progress).
func (r *Recorder) Snapshot() Snapshot {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := Snapshot{Latency: hdrhistogram.Import(r.latency.Export()), PollsHist: hdrhistogram.Import(r.pollsHist.Export()),
		Polls: append([]int64(nil), r.polls[:]...), PushOnly: r.pushOnly, Multipart: r.multipart, Bytes: r.bytes,
		Series: inFlightCarried(r.series), Faults: append([]FaultSpan(nil), r.faults...), Reconciled: r.reconciled, Outcomes: map[history.Outcome]int64{}, Errors: map[string]int64{},
		InFlight: r.inflight, MaxInFlight: r.maxInflight, MaxGoroutines: r.maxGo.Load(),
		CommittedV2Plus: r.v2plus, MaxVersion: r.maxVersion, DecidedFrom: r.decidedFrom, DecidedTo: r.decidedTo}
	for i, h := range r.phases {
		s.Phases[i] = hdrhistogram.Import(h.Export())
	}
	for k, v := range r.outcomes {
		s.Outcomes[k] = v
	}
	for k, v := range r.errors {
		s.Errors[k] = v
	}
	for k, m := range r.causes {
		if s.ErrorCauses == nil {
			s.ErrorCauses = map[string]map[string]int64{}
		}
		c := make(map[string]int64, len(m))
		for cause, n := range m {
			c[cause] = n
		}
		s.ErrorCauses[k] = c
	}
	return s
}
