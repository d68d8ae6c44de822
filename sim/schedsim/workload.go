package schedsim

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/stormsim/stormsim/coordinator/scheduler"
)

// planned is one generated event: when it is inserted and when it is due,
// in nanoseconds since the run's start (compact: runs hold millions).
type planned struct {
	insert, due int64
}

// generate draws the workload from the "events" stream: Poisson sign-ups,
// EventsPerUser events each. Offsets are drawn even for events that are
// dropped (due after the end), so the stream does not shift.
func generate(c Config) []planned {
	r := c.rng("events")
	end := int64(c.Duration)
	gap := float64(time.Hour) / c.NewUsersPerHour
	var out []planned
	for t := 0.0; ; {
		t += r.ExpFloat64() * gap
		if t >= float64(end) {
			return out
		}
		for i := range c.EventsPerUser {
			due := int64(t) + int64(c.DueOffsets[i%len(c.DueOffsets)](r))
			if a := int64(c.DueAlign); a > 0 && due%a != 0 {
				due += a - due%a // on a boundary after Start (a virtual Start is one)
			}
			if due >= end {
				continue
			}
			out = append(out, planned{insert: int64(t), due: due})
			if c.MaxEvents > 0 && int64(len(out)) >= c.MaxEvents {
				return out
			}
		}
	}
}

// eventID names planned event i; index parses it back.
func eventID(i int) string { return "e" + strconv.Itoa(i) }

func index(id string) (int, bool) {
	if len(id) < 2 || id[0] != 'e' {
		return 0, false
	}
	i, err := strconv.Atoi(id[1:])
	return i, err == nil
}

// scheduleFunc is what each strategy offers the workload.
type scheduleFunc func(ctx context.Context, ev scheduler.Event) error

// feeder inserts the planned events at their instants, one timer at a time.
// In virtual time it also runs inside handler invocations (see simStore), so
// inserts interleave with a running handler at store-call granularity; on
// the wall clock its chain of timers runs beside the handlers for real.
type feeder struct {
	env   *env
	next  int  // first planned event not yet inserted
	busy  bool // guards against re-entry from the store wrapper
	timer Timer
}

// catchUp inserts every planned event whose instant is <= now.
func (f *feeder) catchUp(ctx context.Context, now time.Time) {
	if f.busy {
		return
	}
	f.busy = true
	defer func() { f.busy = false }()
	e := f.env
	limit := now.Sub(e.start).Nanoseconds()
	for f.next < len(e.plan) && e.plan[f.next].insert <= limit {
		i := f.next
		f.next++
		ev := scheduler.Event{ID: eventID(i), Due: e.start.Add(time.Duration(e.plan[i].due))}
		if err := e.insert(ctx, ev); err != nil {
			e.mu.Lock()
			e.refuse(i)
			e.mu.Unlock()
		}
	}
}

// refuseRest marks the planned events not inserted by the end as refused:
// the run ended before their insert instant came round.
func (f *feeder) refuseRest() {
	e := f.env
	e.mu.Lock()
	defer e.mu.Unlock()
	for ; f.next < len(e.plan); f.next++ {
		e.refuse(f.next)
	}
}

// arm schedules the feeder's next wake-up at the next planned insert.
func (f *feeder) arm(ctx context.Context) {
	e := f.env
	if f.next >= len(e.plan) || ctx.Err() != nil {
		return
	}
	at := e.start.Add(time.Duration(e.plan[f.next].insert))
	f.timer = e.clk.AfterFunc(at.Sub(e.clk.Now()), func() {
		f.catchUp(ctx, e.now())
		f.arm(ctx)
	})
}

// insert schedules ev. On the wall clock an insert the store did not take
// (scheduler.ErrNotStored) is retried, as a sign-up service retries a store
// call, until it succeeds or ctx ends: a slow or saturated store delays the
// event, it does not lose it. Any other error came after the event was
// stored, so it is not retried (a retry could run it twice). Retries stop
// at the end of the insert window (retryUntil). Each failed
// attempt counts as an error. An event whose insert was never stored was
// never scheduled (refused), which the checker does not count as missed.
// Virtual runs insert once.
func (e *env) insert(ctx context.Context, ev scheduler.Event) error {
	wait := 10 * time.Millisecond
	for {
		err := e.schedule(ctx, ev)
		if err == nil {
			return nil
		}
		e.countError()
		if !errors.Is(err, scheduler.ErrNotStored) {
			return nil // stored: it will run
		}
		if e.virt != nil || ctx.Err() != nil || !time.Now().Before(e.retryUntil) {
			return err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		wait = min(2*wait, time.Second)
	}
}
