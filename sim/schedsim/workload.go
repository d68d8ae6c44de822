package schedsim

import (
	"context"
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
		if err := e.schedule(ctx, ev); err != nil {
			e.countError()
		}
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
