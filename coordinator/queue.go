package coordinator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/redis/go-redis/v9"
)

// QueueConfig configures a Queue.
type QueueConfig struct {
	// Stream is the key of the events stream (required).
	Stream string
	// Group is the consumer group the coordinators share (default
	// "coordinators").
	Group string
	// MinIdle is how long an entry may stay with one consumer before
	// another claims it (XAUTOCLAIM): the consumer is presumed dead, or its
	// attempt failed. It must exceed the longest handler run; it is also
	// the retry delay of a failed event (default 30s).
	MinIdle time.Duration
	// MaxDeliveries: an entry delivered this often and still failing goes
	// to the dead-letter stream (default 3, Lambda's try and two retries).
	MaxDeliveries int64
	// Dead is the dead-letter stream (default Stream + ":dead").
	Dead string
	// Feedback, when set, is a stream where consumers report each decision
	// (Observer) and each finished entry, in order, for a harness that
	// waits for them. Production leaves it empty.
	Feedback string
	// Block bounds one XREADGROUP wait (default 1s); Batch is the entries
	// per read (default 16); MaxLen caps the streams, approximately
	// (default 1,000,000).
	Block  time.Duration
	Batch  int64
	MaxLen int64
}

// Queue is a shared event queue on a Redis Stream with a consumer group,
// for coordinators that run as long-lived processes instead of Lambda
// functions. Producers add S3 event records (XADD); each coordinator
// process reads new entries (XREADGROUP), acknowledges an entry once it is
// handled (XACK), and claims entries left pending by a consumer that died
// or failed (XAUTOCLAIM after MinIdle). Delivery is at least once, as with
// S3 notifications; the handler is idempotent.
type Queue struct {
	rdb redis.UniversalClient
	cfg QueueConfig
}

// ErrQueueGone: the stream or its group was removed while consuming.
var ErrQueueGone = errors.New("queue stream removed")

// Feedback entry fields.
const (
	FeedbackDecision = "decision" // a Decision as JSON
	FeedbackDone     = "done"     // the id of a finished entry
	FeedbackDead     = "dead"     // "1" when it went to the dead-letter stream
	// FeedbackRecovered marks a decision read back by a consumer that
	// finished the entry, not reported by the one that decided.
	FeedbackRecovered = "recovered"
)

// NewQueue applies defaults to cfg.
func NewQueue(rdb redis.UniversalClient, cfg QueueConfig) (*Queue, error) {
	if cfg.Stream == "" {
		return nil, fmt.Errorf("%w: queue stream is empty", ErrConfig)
	}
	if cfg.Group == "" {
		cfg.Group = "coordinators"
	}
	if cfg.MinIdle <= 0 {
		cfg.MinIdle = 30 * time.Second
	}
	if cfg.MaxDeliveries <= 0 {
		cfg.MaxDeliveries = 3
	}
	if cfg.Dead == "" {
		cfg.Dead = cfg.Stream + ":dead"
	}
	if cfg.Block <= 0 {
		cfg.Block = time.Second
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 16
	}
	if cfg.MaxLen <= 0 {
		cfg.MaxLen = 1_000_000
	}
	return &Queue{rdb: rdb, cfg: cfg}, nil
}

// Config returns the configuration with defaults applied.
func (q *Queue) Config() QueueConfig { return q.cfg }

// Ensure creates the stream and the consumer group unless they exist.
func (q *Queue) Ensure(ctx context.Context) error {
	err := q.rdb.XGroupCreateMkStream(ctx, q.cfg.Stream, q.cfg.Group, "0").Err()
	if err != nil && !strings.HasPrefix(err.Error(), "BUSYGROUP") {
		return fmt.Errorf("create consumer group %s on %s: %w", q.cfg.Group, q.cfg.Stream, err)
	}
	return nil
}

// Add appends one entry per record and returns their ids.
func (q *Queue) Add(ctx context.Context, recs ...events.S3EventRecord) ([]string, error) {
	cmds := make([]*redis.StringCmd, len(recs))
	_, err := q.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, r := range recs {
			doc, err := json.Marshal(r)
			if err != nil {
				return fmt.Errorf("encode record: %w", err)
			}
			cmds[i] = p.XAdd(ctx, &redis.XAddArgs{Stream: q.cfg.Stream, MaxLen: q.cfg.MaxLen, Approx: true,
				Values: []any{"record", doc}})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("add to %s: %w", q.cfg.Stream, err)
	}
	ids := make([]string, len(cmds))
	for i, c := range cmds {
		ids[i] = c.Val()
	}
	return ids, nil
}

// HandlerFunc handles one event, as Lambda would invoke the coordinator.
type HandlerFunc func(ctx context.Context, ev events.S3Event) error

// Consume handles entries as consumer with workers goroutines until ctx
// ends. A handled entry is acknowledged; a failed one stays pending and is
// retried (by any consumer) after MinIdle, until MaxDeliveries. Entries
// read but not finished when the process dies are claimed by the others.
func (q *Queue) Consume(ctx context.Context, consumer string, workers int, h HandlerFunc) error {
	if err := q.Ensure(ctx); err != nil {
		return err
	}
	if workers <= 0 {
		workers = 16
	}
	jobs := make(chan redis.XMessage)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for m := range jobs {
				q.handle(context.WithoutCancel(ctx), m, h)
			}
		}()
	}
	err := q.fetch(ctx, consumer, jobs)
	close(jobs)
	wg.Wait()
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		return nil
	}
	return err
}

// fetch feeds jobs: orphaned entries first, then new ones.
func (q *Queue) fetch(ctx context.Context, consumer string, jobs chan<- redis.XMessage) error {
	lastClaim := time.Time{}
	send := func(ms []redis.XMessage) error {
		for _, m := range ms {
			select {
			case jobs <- m:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return nil
	}
	for ctx.Err() == nil {
		if time.Since(lastClaim) >= q.cfg.MinIdle/4 {
			lastClaim = time.Now()
			start := "0-0"
			for {
				ms, next, err := q.rdb.XAutoClaim(ctx, &redis.XAutoClaimArgs{Stream: q.cfg.Stream, Group: q.cfg.Group,
					MinIdle: q.cfg.MinIdle, Start: start, Count: q.cfg.Batch, Consumer: consumer}).Result()
				if err != nil {
					if ctx.Err() != nil {
						return ctx.Err()
					}
					if gone := q.gone(err); gone != nil {
						return gone
					}
					return fmt.Errorf("claim orphaned entries: %w", err)
				}
				if err := send(ms); err != nil {
					return err
				}
				if next == "0-0" || next == "" || len(ms) == 0 && next == start {
					break
				}
				start = next
			}
		}
		res, err := q.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: q.cfg.Group, Consumer: consumer,
			Streams: []string{q.cfg.Stream, ">"}, Count: q.cfg.Batch, Block: q.cfg.Block}).Result()
		if errors.Is(err, redis.Nil) {
			continue
		}
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if gone := q.gone(err); gone != nil {
				return gone
			}
			return fmt.Errorf("read %s: %w", q.cfg.Stream, err)
		}
		for _, s := range res {
			if err := send(s.Messages); err != nil {
				return err
			}
		}
	}
	return ctx.Err()
}

// gone recognises a removed stream or group. Recreating it would leave a
// key behind that nobody owns (its run cleaned up), so consumers stop.
func (q *Queue) gone(err error) error {
	if msg := err.Error(); strings.HasPrefix(msg, "NOGROUP") || strings.HasPrefix(msg, "UNBLOCKED") {
		return fmt.Errorf("%w: %s: %v", ErrQueueGone, q.cfg.Stream, err)
	}
	return nil
}

// handle runs one entry and settles it.
func (q *Queue) handle(ctx context.Context, m redis.XMessage, h HandlerFunc) {
	raw, _ := m.Values["record"].(string)
	var rec events.S3EventRecord
	if err := json.Unmarshal([]byte(raw), &rec); err != nil {
		q.settle(ctx, m, true) // a malformed entry never succeeds
		return
	}
	if err := h(ctx, events.S3Event{Records: []events.S3EventRecord{rec}}); err == nil {
		q.settle(ctx, m, false)
		return
	}
	// Failed: it stays pending with this consumer until it is claimed
	// again after MinIdle, unless it has been delivered often enough.
	p, err := q.rdb.XPendingExt(ctx, &redis.XPendingExtArgs{Stream: q.cfg.Stream, Group: q.cfg.Group,
		Start: m.ID, End: m.ID, Count: 1}).Result()
	if err == nil && len(p) == 1 && p[0].RetryCount >= q.cfg.MaxDeliveries {
		q.settle(ctx, m, true)
	}
}

// settle acknowledges an entry, first moving it to the dead-letter stream
// when dead. The feedback report goes before the XACK: a consumer killed
// between the two leaves the entry pending, so it is claimed and reported
// again (a second report is harmless; a lost one would leave a waiter
// hanging).
func (q *Queue) settle(ctx context.Context, m redis.XMessage, dead bool) {
	if dead {
		vals := []any{"id", m.ID}
		for k, v := range m.Values {
			vals = append(vals, k, v)
		}
		_ = q.rdb.XAdd(ctx, &redis.XAddArgs{Stream: q.cfg.Dead, MaxLen: q.cfg.MaxLen, Approx: true, Values: vals}).Err()
	}
	if q.cfg.Feedback != "" {
		d := "0"
		if dead {
			d = "1"
		}
		_ = q.rdb.XAdd(ctx, &redis.XAddArgs{Stream: q.cfg.Feedback, MaxLen: q.cfg.MaxLen, Approx: true,
			Values: []any{FeedbackDone, m.ID, FeedbackDead, d}}).Err()
	}
	_ = q.rdb.XAck(ctx, q.cfg.Stream, q.cfg.Group, m.ID).Err()
}

// Observer reports decisions on the feedback stream (nil without one), in
// order with the entries' completions.
func (q *Queue) Observer() Observer {
	if q.cfg.Feedback == "" {
		return nil
	}
	return queueObserver{q}
}

type queueObserver struct{ q *Queue }

func (o queueObserver) Decided(d Decision) {
	doc, err := json.Marshal(d)
	if err != nil {
		return
	}
	_ = o.q.rdb.XAdd(context.Background(), &redis.XAddArgs{Stream: o.q.cfg.Feedback, MaxLen: o.q.cfg.MaxLen, Approx: true,
		Values: []any{FeedbackDecision, doc}}).Err()
}

// Recovered reports a decision read back from Redis (Coordinator.Recorded)
// on the feedback stream, marked so that a harness applies it only when
// the consumer that made the decision died before reporting it.
func (q *Queue) Recovered(ctx context.Context, d Decision) {
	if q.cfg.Feedback == "" {
		return
	}
	doc, err := json.Marshal(d)
	if err != nil {
		return
	}
	_ = q.rdb.XAdd(ctx, &redis.XAddArgs{Stream: q.cfg.Feedback, MaxLen: q.cfg.MaxLen, Approx: true,
		Values: []any{FeedbackDecision, doc, FeedbackRecovered, "1"}}).Err()
}

// Recorded reads back the decision stored for the upload an event record
// names: its result and, for a commit, the commit record's fence. ok is
// false while the upload has no result (or the record is not an upload of
// this coordinator's).
func (c *Coordinator) Recorded(ctx context.Context, r events.S3EventRecord) (Decision, bool, error) {
	key, err := url.QueryUnescape(r.S3.Object.Key)
	if err != nil {
		key = r.S3.Object.Key
	}
	rest, ok := strings.CutPrefix(key, c.cfg.ObjectPrefix)
	if !ok {
		return Decision{}, false, nil
	}
	user, id, err := ParseStagingKey(rest)
	if err != nil {
		return Decision{}, false, nil
	}
	vals, err := c.rdb.MGet(ctx, c.resultKey(user, id), c.commitKey(user, id)).Result()
	if err != nil {
		return Decision{}, false, fmt.Errorf("read decision of %s: %w", id, err)
	}
	doc, ok := vals[0].(string)
	if !ok {
		return Decision{}, false, nil
	}
	var d Decision
	if err := json.Unmarshal([]byte(doc), &d.Result); err != nil {
		return Decision{}, false, fmt.Errorf("decode result %s: %w", id, err)
	}
	if rec, ok := vals[1].(string); ok && d.State == StateCommitted {
		_, _, d.Fence, _ = parseCommitFence(rec)
	}
	return d, true, nil
}
