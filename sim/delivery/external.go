package delivery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/redis/go-redis/v9"

	"github.com/stormsim/stormsim/coordinator"
)

// External sends a run's events to coordinator processes (simrun
// coordinator) through a shared Redis Stream, instead of invoking the
// handler in-process. The processes must use the run's bucket, strategy
// and prefixes, and report to Feedback: their decisions go into the run's
// history from there, and an event counts as delivered once a process
// has finished it.
type External struct {
	Stream   string // the events stream
	Group    string // the processes' consumer group (default "coordinators")
	Feedback string // where the processes report decisions and finished entries
	// Wait bounds how long an event may take to be finished before the
	// delivery retries it (default 2m).
	Wait time.Duration
	// ConsumerWait bounds how long the run waits, before any load, for a
	// process to join the consumer group: events no process consumes
	// would only time out. 0 does not wait.
	ConsumerWait time.Duration
	// Log, when set, hears what the run waits for.
	Log io.Writer
}

// ErrNoConsumer: no coordinator process joined the consumer group within
// External.ConsumerWait.
var ErrNoConsumer = errors.New("no coordinator process consumes the events")

// ErrDeadLettered is returned for an event the processes gave up on.
var ErrDeadLettered = errors.New("event went to the dead-letter stream")

// Feed enqueues events and waits for their completion, reading
// the feedback stream in order: every decision a process reported before
// finishing an entry is recorded before that entry's handler returns.
type Feed struct {
	q    *coordinator.Queue
	rdb  redis.UniversalClient
	x    External
	obs  coordinator.Observer
	stop chan struct{}
	done chan struct{}

	mu       sync.Mutex // guards waiters and finished
	waiters  map[string]chan bool
	finished map[string]bool // finished before their handler waited; value: dead

	// decided tells, per upload, whether its decision came reported by the
	// deciding process (true) or only recovered from Redis (false); read
	// only by the reader goroutine.
	decided map[string]bool

	diagMu   sync.Mutex // guards timedOut and why
	timedOut int64
	why      string // the consumer group's state at the first timeout
}

// NewFeed starts the feedback reader; Close stops it.
func NewFeed(ctx context.Context, rdb redis.UniversalClient, x External, obs coordinator.Observer) (*Feed, error) {
	if x.Stream == "" || x.Feedback == "" {
		return nil, fmt.Errorf("external coordinators: stream and feedback stream are required")
	}
	if x.Wait <= 0 {
		x.Wait = 2 * time.Minute
	}
	q, err := coordinator.NewQueue(rdb, coordinator.QueueConfig{Stream: x.Stream, Group: x.Group, Feedback: x.Feedback})
	if err != nil {
		return nil, err
	}
	if err := q.Ensure(ctx); err != nil {
		return nil, err
	}
	if err := waitConsumer(ctx, rdb, q.Config(), x); err != nil {
		return nil, err
	}
	h := &Feed{q: q, rdb: rdb, x: x, obs: obs, stop: make(chan struct{}), done: make(chan struct{}),
		waiters: map[string]chan bool{}, finished: map[string]bool{}, decided: map[string]bool{}}
	go h.read()
	return h, nil
}

// handle is the delivery's Handler.
func (h *Feed) Handle(ctx context.Context, ev events.S3Event) error {
	ids, err := h.q.Add(ctx, ev.Records...)
	if err != nil {
		return err
	}
	var errs []error
	for _, id := range ids {
		h.mu.Lock()
		dead, ok := h.finished[id]
		var ch chan bool
		if ok {
			delete(h.finished, id)
		} else {
			ch = make(chan bool, 1)
			h.waiters[id] = ch
		}
		h.mu.Unlock()
		if !ok {
			t := time.NewTimer(h.x.Wait)
			select {
			case dead = <-ch:
			case <-t.C:
				errs = append(errs, fmt.Errorf("entry %s not finished within %v: %s", id, h.x.Wait, h.timeout(ctx)))
			case <-ctx.Done():
				errs = append(errs, ctx.Err())
			}
			t.Stop()
			h.mu.Lock()
			delete(h.waiters, id)
			h.mu.Unlock()
		}
		if dead {
			errs = append(errs, fmt.Errorf("entry %s: %w", id, ErrDeadLettered))
		}
	}
	return errors.Join(errs...)
}

// timeout counts an entry no process finished in time and says why, from
// the consumer group's state when the first one timed out.
func (h *Feed) timeout(ctx context.Context) string {
	h.diagMu.Lock()
	defer h.diagMu.Unlock()
	h.timedOut++
	if h.why == "" {
		h.why = describeGroup(ctx, h.rdb, h.q.Config())
	}
	return h.why
}

// diagnosis is "" when every entry was finished in time, otherwise how
// many were not and why.
func (h *Feed) Diagnosis() string {
	h.diagMu.Lock()
	defer h.diagMu.Unlock()
	if h.timedOut == 0 {
		return ""
	}
	return fmt.Sprintf("%d event(s) not finished by a coordinator process within %v: %s", h.timedOut, h.x.Wait, h.why)
}

// describeGroup says who consumes the stream: no consumer at all, or each
// consumer's pending entries and idle time (a process that stopped
// reading, or one that fails every event and leaves it pending).
func describeGroup(ctx context.Context, rdb redis.UniversalClient, c coordinator.QueueConfig) string {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	cs, err := rdb.XInfoConsumers(ctx, c.Stream, c.Group).Result()
	if err != nil {
		return fmt.Sprintf("could not read consumer group %s of %s: %v", c.Group, c.Stream, err)
	}
	if len(cs) == 0 {
		return fmt.Sprintf("no coordinator process consumed them (consumer group %s of %s has no consumer; start `simrun coordinator`)", c.Group, c.Stream)
	}
	var parts []string
	for _, k := range cs {
		parts = append(parts, fmt.Sprintf("%s: %d pending, idle %v", k.Name, k.Pending, k.Idle.Round(time.Second)))
	}
	return fmt.Sprintf("consumer group %s of %s has %d consumer(s) (%s); see their output for errors", c.Group, c.Stream, len(cs), strings.Join(parts, "; "))
}

// waitConsumer waits until at least one process has joined the consumer
// group (its first XREADGROUP creates its consumer), up to x.ConsumerWait.
func waitConsumer(ctx context.Context, rdb redis.UniversalClient, c coordinator.QueueConfig, x External) error {
	if x.ConsumerWait <= 0 {
		return nil
	}
	deadline := time.Now().Add(x.ConsumerWait)
	said := false
	for {
		cs, err := rdb.XInfoConsumers(ctx, c.Stream, c.Group).Result()
		if err == nil && len(cs) > 0 {
			if said && x.Log != nil {
				fmt.Fprintf(x.Log, "external: coordinator %s joined; starting the load\n", cs[0].Name)
			}
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%w: consumer group %s of stream %s had no consumer after %v; start `simrun coordinator` with the command line above, or wait longer (--consumer-wait)",
				ErrNoConsumer, c.Group, c.Stream, x.ConsumerWait)
		}
		if !said && x.Log != nil {
			fmt.Fprintf(x.Log, "external: waiting up to %v for a coordinator process to join consumer group %s of %s before the load starts\n",
				x.ConsumerWait, c.Group, c.Stream)
			said = true
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// read follows the feedback stream from its start (it belongs to the run).
func (h *Feed) read() {
	defer close(h.done)
	last := "0-0"
	ctx := context.Background()
	for {
		select {
		case <-h.stop:
			return
		default:
		}
		res, err := h.rdb.XRead(ctx, &redis.XReadArgs{Streams: []string{h.x.Feedback, last}, Count: 512,
			Block: 200 * time.Millisecond}).Result()
		if err != nil {
			if !errors.Is(err, redis.Nil) {
				time.Sleep(50 * time.Millisecond)
			}
			continue
		}
		for _, s := range res {
			for _, m := range s.Messages {
				last = m.ID
				h.apply(m.Values)
			}
		}
	}
}

func (h *Feed) apply(v map[string]any) {
	if doc, ok := v[coordinator.FeedbackDecision].(string); ok {
		var d coordinator.Decision
		if json.Unmarshal([]byte(doc), &d) != nil || h.obs == nil {
			return
		}
		// A recovered decision is a copy of what Redis holds: it stands in
		// for a report lost with a killed process, so it counts only for an
		// upload not heard of before, and a late report of the same
		// decision is then dropped. Two reports from deciding processes
		// both reach the history, where a real duplicate decision shows.
		reported, seen := h.decided[d.ID]
		switch recovered := v[coordinator.FeedbackRecovered] == "1"; {
		case recovered && seen:
			return
		case recovered:
			h.decided[d.ID] = false
		case seen && !reported:
			h.decided[d.ID] = true
			return
		default:
			h.decided[d.ID] = true
		}
		h.obs.Decided(d)
		return
	}
	id, ok := v[coordinator.FeedbackDone].(string)
	if !ok {
		return
	}
	dead := v[coordinator.FeedbackDead] == "1"
	h.mu.Lock()
	defer h.mu.Unlock()
	if ch := h.waiters[id]; ch != nil {
		ch <- dead
		delete(h.waiters, id)
		return
	}
	h.finished[id] = dead
}

// close stops the reader and waits for it.
func (h *Feed) Close() {
	select {
	case <-h.stop:
	default:
		close(h.stop)
	}
	<-h.done
}
