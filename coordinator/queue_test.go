package coordinator_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/aws/aws-lambda-go/events"
	"github.com/redis/go-redis/v9"

	"github.com/stormsim/stormsim/coordinator"
)

func newQueue(t *testing.T, cfg coordinator.QueueConfig) (*coordinator.Queue, *redis.Client) {
	t.Helper()
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	t.Cleanup(func() { rdb.Close() })
	if cfg.Stream == "" {
		cfg.Stream = "q:events"
	}
	if cfg.Block == 0 {
		cfg.Block = 50 * time.Millisecond
	}
	q, err := coordinator.NewQueue(rdb, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Ensure(context.Background()); err != nil {
		t.Fatal(err)
	}
	return q, rdb
}

func records(n int) []events.S3EventRecord {
	recs := make([]events.S3EventRecord, n)
	for i := range recs {
		recs[i] = events.S3EventRecord{EventName: "ObjectCreated:Put",
			S3: events.S3Entity{Bucket: events.S3Bucket{Name: "b"}, Object: events.S3Object{Key: fmt.Sprintf("staging/u/%d", i)}}}
	}
	return recs
}

// seen records handled keys.
type seen struct {
	mu sync.Mutex
	n  map[string]int
}

func (s *seen) handler(fail func(key string, attempt int) bool) coordinator.HandlerFunc {
	return func(ctx context.Context, ev events.S3Event) error {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.n == nil {
			s.n = map[string]int{}
		}
		k := ev.Records[0].S3.Object.Key
		s.n[k]++
		if fail != nil && fail(k, s.n[k]) {
			return errors.New("handler failed")
		}
		return nil
	}
}

func (s *seen) count(k string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n[k]
}

func (s *seen) keys() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.n)
}

func waitFor(t *testing.T, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in time")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func consume(t *testing.T, q *coordinator.Queue, name string, h coordinator.HandlerFunc) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- q.Consume(ctx, name, 4, h) }()
	return func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("consume %s: %v", name, err)
		}
	}
}

func pending(t *testing.T, rdb *redis.Client, q *coordinator.Queue) int64 {
	p, err := rdb.XPending(context.Background(), q.Config().Stream, q.Config().Group).Result()
	if err != nil {
		t.Fatal(err)
	}
	return p.Count
}

func TestQueue_Consume_EachEntryOnceAndAcked(t *testing.T) {
	q, rdb := newQueue(t, coordinator.QueueConfig{})
	var s seen
	stopA := consume(t, q, "a", s.handler(nil))
	stopB := consume(t, q, "b", s.handler(nil))
	if _, err := q.Add(context.Background(), records(200)...); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, func() bool { return s.keys() == 200 && pending(t, rdb, q) == 0 })
	stopA()
	stopB()
	for i := range 200 {
		if n := s.count(fmt.Sprintf("staging/u/%d", i)); n != 1 {
			t.Errorf("entry %d handled %d times", i, n)
		}
	}
}

func TestQueue_Consume_RetriesThenDeadLetters(t *testing.T) {
	q, rdb := newQueue(t, coordinator.QueueConfig{MinIdle: 100 * time.Millisecond, MaxDeliveries: 3, Feedback: "q:feedback"})
	var s seen
	// staging/u/0 fails twice then succeeds; staging/u/1 always fails.
	stop := consume(t, q, "a", s.handler(func(k string, attempt int) bool {
		return k == "staging/u/1" || k == "staging/u/0" && attempt <= 2
	}))
	defer stop()
	if _, err := q.Add(context.Background(), records(2)...); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, func() bool {
		n, _ := rdb.XLen(context.Background(), "q:events:dead").Result()
		return n == 1 && pending(t, rdb, q) == 0
	})
	if got := s.count("staging/u/0"); got != 3 {
		t.Errorf("flaky entry ran %d times, want 3", got)
	}
	if got := s.count("staging/u/1"); got != 3 {
		t.Errorf("failing entry ran %d times, want 3 (MaxDeliveries)", got)
	}
	fb, err := rdb.XRange(context.Background(), "q:feedback", "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	dead := 0
	for _, m := range fb {
		if m.Values[coordinator.FeedbackDead] == "1" {
			dead++
		}
	}
	if len(fb) != 2 || dead != 1 {
		t.Errorf("feedback %v", fb)
	}
}

func TestQueue_Consume_ClaimsADeadConsumersEntries(t *testing.T) {
	q, rdb := newQueue(t, coordinator.QueueConfig{MinIdle: 200 * time.Millisecond})
	ctx := context.Background()
	if _, err := q.Add(ctx, records(10)...); err != nil {
		t.Fatal(err)
	}
	// "dead" reads six entries and dies before acknowledging them.
	if _, err := rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: q.Config().Group, Consumer: "dead",
		Streams: []string{q.Config().Stream, ">"}, Count: 6}).Result(); err != nil {
		t.Fatal(err)
	}
	var s seen
	start := time.Now()
	stop := consume(t, q, "alive", s.handler(nil))
	defer stop()
	waitFor(t, 10*time.Second, func() bool { return s.keys() == 10 && pending(t, rdb, q) == 0 })
	if took := time.Since(start); took < 150*time.Millisecond {
		t.Errorf("orphans claimed after %v, before MinIdle", took)
	}
}

func TestNewQueue_NoStream(t *testing.T) {
	if _, err := coordinator.NewQueue(nil, coordinator.QueueConfig{}); !errors.Is(err, coordinator.ErrConfig) {
		t.Errorf("err %v", err)
	}
}

func TestQueue_Consume_StopsWhenTheStreamIsRemoved(t *testing.T) {
	q, rdb := newQueue(t, coordinator.QueueConfig{})
	done := make(chan error, 1)
	var s seen
	go func() { done <- q.Consume(context.Background(), "a", 2, s.handler(nil)) }()
	time.Sleep(100 * time.Millisecond)
	if err := rdb.Del(context.Background(), q.Config().Stream).Err(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, coordinator.ErrQueueGone) {
			t.Errorf("err %v, want ErrQueueGone", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Consume did not stop")
	}
	if n, _ := rdb.Exists(context.Background(), q.Config().Stream).Result(); n != 0 {
		t.Errorf("the stream was recreated")
	}
}

func TestCoordinator_Recorded_ReadsBackTheDecision(t *testing.T) {
	e := newTestEnv(t, coordinator.StrategyRedisLock, nil)
	ctx := context.Background()
	u := coordinator.Upload{ID: "r1", User: "alice", Path: "x.txt", Device: "d"}
	ev := e.stage(u, content(1))
	if _, ok, err := e.c.Recorded(ctx, ev.Records[0]); err != nil || ok {
		t.Fatalf("before handling: ok=%v err=%v", ok, err)
	}
	if err := e.c.HandleEvent(ctx, ev); err != nil {
		t.Fatal(err)
	}
	got, ok, err := e.c.Recorded(ctx, ev.Records[0])
	if err != nil || !ok {
		t.Fatalf("ok=%v err=%v", ok, err)
	}
	want := e.decisionsFor("r1")
	if len(want) != 1 {
		t.Fatalf("observed %v", want)
	}
	if got.State != want[0].State || got.Version != want[0].Version || got.Fence != want[0].Fence || got.Fence == 0 ||
		!got.DecidedAt.Equal(want[0].DecidedAt) || got.SHA256 != want[0].SHA256 {
		t.Errorf("recorded %+v, observed %+v", got, want[0])
	}
}
