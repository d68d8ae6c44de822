package scheduler

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrNoCapability is returned when a Rule lacks a capability a strategy
// needs (RateRule for the Poller).
var ErrNoCapability = errors.New("scheduler: rule lacks capability")

// Poller is the fixed-interval peer: the rule fires every Every, each
// invocation runs what is due, inserts never touch the rule. Lateness is
// about Every/2 on average; an invocation with nothing due is the cost.
type Poller struct {
	Store Store
	Run   Runner
	Now   func() time.Time
	Every time.Duration
	Batch int // default 1000
}

// Start sets the rule's rate; the rule must implement RateRule.
func (p *Poller) Start(ctx context.Context, rule Rule) error {
	rr, ok := rule.(RateRule)
	if !ok {
		return fmt.Errorf("start poller: %w: RateRule", ErrNoCapability)
	}
	if err := rr.SetRate(ctx, p.Every); err != nil {
		return fmt.Errorf("start poller: %w", err)
	}
	return nil
}

// Schedule inserts ev.
func (p *Poller) Schedule(ctx context.Context, ev Event) error {
	if err := p.Store.Put(ctx, ev); err != nil {
		return fmt.Errorf("put event: %w: %w", ErrNotStored, err)
	}
	return nil
}

// Fire runs every due event.
func (p *Poller) Fire(ctx context.Context, firedAt time.Time) (FireReport, error) {
	var rep FireReport
	rep.Attempts = 1
	_, err := drain(ctx, p.Store, p.Run, p.Now, batchOr(p.Batch), &rep)
	return rep, err
}

// OneShot is the one-schedule-per-event peer (EventBridge Scheduler style):
// Schedule creates a one-time schedule at the event's due time, the schedule
// delivers the event to FireEvent. One rule update per event is the cost.
type OneShot struct {
	Store Store
	Run   Runner
	Rule  OneShotRule
	Now   func() time.Time
}

// Schedule inserts ev (the table stays the record of what is pending and the
// claim point) and creates its one-time schedule.
func (o *OneShot) Schedule(ctx context.Context, ev Event) error {
	if err := o.Store.Put(ctx, ev); err != nil {
		return fmt.Errorf("put event: %w: %w", ErrNotStored, err)
	}
	if err := o.Rule.At(ctx, ev, ev.Due); err != nil {
		return fmt.Errorf("create one-shot schedule: %w", err)
	}
	return nil
}

// FireEvent runs ev once in effect. A delivery before the due time (a clock
// skew the service does not promise against) is re-scheduled, not run.
func (o *OneShot) FireEvent(ctx context.Context, ev Event, firedAt time.Time) (FireReport, error) {
	rep := FireReport{Attempts: 1}
	if o.Now().Before(ev.Due) {
		return rep, o.Rule.At(ctx, ev, ev.Due)
	}
	won, err := o.Store.MarkDone(ctx, ev.ID)
	if err != nil {
		return rep, fmt.Errorf("mark done %s: %w", ev.ID, err)
	}
	if !won {
		rep.Skipped++
		return rep, nil
	}
	if err := o.Run(ctx, ev); err != nil {
		rep.Failed++
		if perr := o.Store.Put(ctx, ev); perr != nil {
			return rep, fmt.Errorf("put back %s: %w", ev.ID, perr)
		}
		return rep, o.Rule.At(ctx, ev, o.Now())
	}
	rep.Ran++
	return rep, nil
}

// drain claims and runs due events page by page. Failed effects are put back
// after the pass, so they are not retried within it; it returns how many.
func drain(ctx context.Context, s Store, run Runner, now func() time.Time, batch int, rep *FireReport) (int, error) {
	var failed []Event
	for {
		evs, err := s.Due(ctx, now(), batch)
		if err != nil {
			return 0, fmt.Errorf("read due events: %w", err)
		}
		for _, ev := range evs {
			won, err := s.MarkDone(ctx, ev.ID)
			if err != nil {
				return 0, fmt.Errorf("mark done %s: %w", ev.ID, err)
			}
			if !won {
				rep.Skipped++
				continue
			}
			if err := run(ctx, ev); err != nil {
				rep.Failed++
				failed = append(failed, ev)
				continue
			}
			rep.Ran++
		}
		if len(evs) < batch {
			break
		}
	}
	for _, ev := range failed {
		if err := s.Put(ctx, ev); err != nil {
			return 0, fmt.Errorf("put back %s: %w", ev.ID, err)
		}
	}
	return len(failed), nil
}

func batchOr(n int) int {
	if n <= 0 {
		return 1000
	}
	return n
}
