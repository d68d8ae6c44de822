package schedsim

import (
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Result is a simulation's outcome: one entry per strategy, the main one
// first. Field names follow results.json's `scheduler` section.
type Result struct {
	Seed       uint64           `json:"seed"`
	Strategy   string           `json:"strategy"`
	Strategies []StrategyResult `json:"strategies"`
}

// Main is the main strategy's result.
func (r Result) Main() StrategyResult {
	if len(r.Strategies) == 0 {
		return StrategyResult{}
	}
	return r.Strategies[0]
}

// Lateness summarises fire minus due over each event's first run, seconds.
type Lateness struct {
	Mean float64 `json:"mean"`
	P50  float64 `json:"p50"`
	P99  float64 `json:"p99"`
	Max  float64 `json:"max"`
}

// StrategyResult is what one strategy did with the shared events.
type StrategyResult struct {
	Strategy   string `json:"strategy"`
	Events     int64  `json:"events"`
	Runs       int64  `json:"runs"`       // effect runs, duplicates included
	Early      int64  `json:"early"`      // runs before the due time; must be 0
	Missed     int64  `json:"missed"`     // events never run by the end of the drain
	Duplicates int64  `json:"duplicates"` // runs beyond the first; must be 0

	Lateness Lateness `json:"lateness_seconds"`
	// TheoryMeanSeconds is the rounding theory for uniform due times:
	// resolution/2 for self (30 s for minutes), interval/2 for poll, 0 for
	// one-shot. JitterMeanSeconds is the mean fire offset. With jitter J
	// the measured mean lies between theory + Var(J)/period (a busy table:
	// the rule fires every period, and a fire late in one minute also runs
	// events due early in the next) and theory + mean(J) (a sparse table,
	// each event armed for alone). Handler and store time come on top.
	TheoryMeanSeconds float64 `json:"theory_mean_seconds"`
	JitterMeanSeconds float64 `json:"jitter_mean_seconds"`

	Invocations      int64 `json:"invocations"`   // handler invocations, duplicates included
	EmptyWakeups     int64 `json:"empty_wakeups"` // invocations that ran nothing
	RuleUpdates      int64 `json:"rule_updates"`
	ThrottledUpdates int64 `json:"throttled_updates"`
	RejectedUpdates  int64 `json:"rejected_updates"` // throttled beyond the retry budget
	DuplicateFires   int64 `json:"duplicate_fires"`
	MissedFires      int64 `json:"missed_fires"` // updates applied after their fire instant
	Errors           int64 `json:"errors"`       // failed invocations and inserts (retried or not)
	Refused          int64 `json:"refused"`      // inserts never stored (every attempt failed): not scheduled, not missed

	// Mail counts the mail effect's sends (mail runs only).
	Mail *MailResult `json:"mail,omitempty"`

	SimulatedSeconds float64 `json:"simulated_seconds"`
	WallSeconds      float64 `json:"wall_seconds"`

	// Histogram holds lateness in microseconds (first runs, not early).
	Histogram *hdrhistogram.Histogram `json:"-"`
}

// OK reports whether the scheduler invariant held: nothing early, missed
// or run twice.
func (s StrategyResult) OK() bool { return s.Early == 0 && s.Missed == 0 && s.Duplicates == 0 }

// result tallies the env after its run.
func (e *env) result(theory, jitter time.Duration) StrategyResult {
	e.mu.Lock()
	defer e.mu.Unlock()
	st := e.rule.Stats()
	r := StrategyResult{
		Strategy: e.name, Events: int64(len(e.plan)), Early: e.early,
		TheoryMeanSeconds: theory.Seconds(), JitterMeanSeconds: jitter.Seconds(),
		Invocations: e.invocations, EmptyWakeups: e.empty,
		RuleUpdates: st.Updates, ThrottledUpdates: st.Throttled, RejectedUpdates: st.Rejected,
		DuplicateFires: st.DuplicateFires, MissedFires: st.MissedFires, Errors: e.errs,
		SimulatedSeconds: e.clk.Now().Sub(e.start).Seconds(),
		Histogram:        e.hist,
	}
	if e.mail != nil {
		mr := e.mail.res
		r.Mail = &mr
	}
	for i, n := range e.runs {
		r.Runs += int64(n)
		switch {
		case e.refused[i]:
			r.Refused++
		case n == 0:
			r.Missed++
		case n > 1:
			r.Duplicates += int64(n - 1)
		}
	}
	if n := e.hist.TotalCount(); n > 0 {
		us := func(v int64) float64 { return float64(v) / 1e6 }
		r.Lateness = Lateness{
			Mean: e.sum.Seconds() / float64(n),
			P50:  us(e.hist.ValueAtQuantile(50)),
			P99:  us(e.hist.ValueAtQuantile(99)),
			Max:  e.max.Seconds(),
		}
	}
	return r
}
