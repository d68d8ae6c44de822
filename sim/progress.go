package sim

import (
	"sync"
	"time"

	"github.com/stormsim/stormsim/scenarios"
	"github.com/stormsim/stormsim/sim/history"
	"github.com/stormsim/stormsim/sim/traffic"
	"github.com/stormsim/stormsim/sim/workload"
)

// plannedShare is the planned upload count and rate of this shard's share
// of the plan, counted on a second pass (the plan streams, so this costs
// time, not memory).
func plannedShare(sc *scenarios.Scenario, seed uint64, shard traffic.Shard, plan *workload.Plan) (int64, float64) {
	planned, _ := plan.PlannedCount()
	rate := plan.PlannedRate()
	if shard.N <= 1 || sc.Model == "closed" {
		return planned, rate
	}
	var mine int64
	for p := workload.NewPlan(sc, seed); ; {
		a, ok := p.Next()
		if !ok {
			break
		}
		if shard.Owns(a.User) {
			mine++
		}
	}
	if planned > 0 {
		rate *= float64(mine) / float64(planned)
	}
	return mine, rate
}

// progress calls Options.Progress and Options.Abort about once a second;
// abort runs once, when Abort says stop.
func (r *runner) progress(res *Result, abort func()) (stop func()) {
	if r.opt.Progress == nil && r.opt.Abort == nil {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				p := r.snapshotProgress(res)
				if r.opt.Progress != nil {
					r.opt.Progress(p)
				}
				if r.opt.Abort != nil && r.aborted.Load() == nil {
					if why, stop := r.opt.Abort(p); stop {
						r.aborted.Store(&why)
						abort()
					}
				}
			}
		}
	}()
	return func() {
		close(done)
		wg.Wait()
		if r.opt.Progress != nil {
			r.opt.Progress(r.snapshotProgress(res))
		}
	}
}

func (r *runner) snapshotProgress(res *Result) Progress {
	s := r.rec.Snapshot()
	p := Progress{Elapsed: r.now().Sub(res.Started), Planned: res.Planned, InFlight: s.InFlight,
		Committed: s.Outcomes[history.OutcomeCommitted], Conflict: s.Outcomes[history.OutcomeConflict],
		Errors: s.Outcomes[history.OutcomeError] + s.Outcomes[history.OutcomeUnknown], Pending: r.delivery.Pending(),
		Rejected: s.Outcomes[history.OutcomeRejected], Unknown: s.Outcomes[history.OutcomeUnknown],
		LatencyMax:       time.Duration(s.Latency.Max()) * time.Microsecond,
		DeliveryFailures: r.delivery.Stats().Failures.Load()}
	for _, v := range s.Outcomes {
		p.Done += v
	}
	p.Started = p.Done + p.InFlight
	return p
}
