package coordinator_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/stormsim/stormsim/coordinator"
)

// noList hides every method but the ObjectStore ones.
type noList struct{ coordinator.ObjectStore }

func TestReconcile_LostEvents_AllDecided(t *testing.T) {
	for _, strategy := range strategies {
		t.Run(string(strategy), func(t *testing.T) {
			e := newTestEnv(t, strategy, nil)
			ctx := context.Background()
			for i := range 5 {
				// No event is ever delivered for these uploads.
				e.stage(coordinator.Upload{ID: fmt.Sprintf("lost%d", i), User: "kim", Path: "f.txt", Device: fmt.Sprintf("d%d", i)}, content(i))
			}
			n, err := e.c.Reconcile(ctx, 0)
			if err != nil || n != 5 {
				t.Fatalf("Reconcile = %d, %v; want 5, nil", n, err)
			}
			states := map[string]int{}
			for i := range 5 {
				states[e.result("kim", fmt.Sprintf("lost%d", i)).State]++
			}
			if states[coordinator.StateCommitted] != 1 || states[coordinator.StateConflict] != 4 {
				t.Errorf("states %v, want one commit and four conflicts", states)
			}
			if left := e.keys(coordinator.StagingPrefix); len(left) != 0 {
				t.Errorf("staged objects left: %v", left)
			}
			if n, err := e.c.Reconcile(ctx, 0); n != 0 || err != nil {
				t.Errorf("second sweep = %d, %v; want nothing to do", n, err)
			}
		})
	}
}

func TestReconcile_YoungObjects_Skipped(t *testing.T) {
	e := newTestEnv(t, coordinator.StrategyRedisLock, nil)
	e.stage(coordinator.Upload{ID: "young", User: "lee", Path: "a.txt", Device: "d"}, content(1))
	n, err := e.c.Reconcile(context.Background(), time.Hour)
	if err != nil || n != 0 {
		t.Fatalf("Reconcile = %d, %v; want 0 (the object is younger than the bound)", n, err)
	}
	// The coordinator's clock, not the wall clock, ages objects.
	later, err := coordinator.New(coordinator.Config{Bucket: e.bucket, Prefix: "t:", Now: func() time.Time { return time.Now().Add(2 * time.Hour) }}, e.s3, e.rdb)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := later.Reconcile(context.Background(), time.Hour); err != nil || n != 1 {
		t.Fatalf("Reconcile two hours later = %d, %v; want 1", n, err)
	}
}

// A sweep racing live (and duplicated) events decides each upload once.
func TestReconcile_RacingLiveEvents_OneDecisionEach(t *testing.T) {
	for _, strategy := range strategies {
		t.Run(string(strategy), func(t *testing.T) {
			e := newTestEnv(t, strategy, nil)
			ctx := context.Background()
			count, stop := e.pushes("max")
			defer stop()
			const n = 16
			var wg sync.WaitGroup
			for i := range n {
				ev := e.stage(coordinator.Upload{ID: fmt.Sprintf("r%d", i), User: "max", Path: fmt.Sprintf("f%d.txt", i%3), Device: "d"}, content(i))
				wg.Add(2)
				go func() { defer wg.Done(); _ = e.c.HandleEvent(ctx, ev) }()
				go func() { defer wg.Done(); _ = e.c.HandleEvent(ctx, ev) }()
			}
			for range 3 {
				wg.Add(1)
				go func() { defer wg.Done(); _, _ = e.c.Reconcile(ctx, 0) }()
			}
			wg.Wait()
			if _, err := e.c.Reconcile(ctx, 0); err != nil {
				t.Fatal(err)
			}
			for i := range n {
				id := fmt.Sprintf("r%d", i)
				if d := e.decisionsFor(id); len(d) != 1 {
					t.Errorf("%s: %d decisions, want 1", id, len(d))
				}
				if p := count(id); p != 1 {
					t.Errorf("%s: %d pushes, want 1", id, p)
				}
			}
			if left := e.keys(coordinator.StagingPrefix); len(left) != 0 {
				t.Errorf("staged objects left: %v", left)
			}
		})
	}
}

func TestReconcile_NoLister(t *testing.T) {
	e := newTestEnv(t, coordinator.StrategyRedisLock, nil)
	tests := []struct {
		name  string
		store coordinator.ObjectStore
	}{
		{"plain", noList{e.s3}},
		{"behind retries", coordinator.NewRetryStore(noList{e.s3}, coordinator.RetryPolicy{})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := coordinator.New(coordinator.Config{Bucket: e.bucket, Now: time.Now}, tt.store, e.rdb)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Reconcile(context.Background(), 0); !errors.Is(err, coordinator.ErrNoLister) {
				t.Errorf("err = %v, want ErrNoLister", err)
			}
		})
	}
}

func TestReconcile_ThroughRetryStore_Lists(t *testing.T) {
	e := newTestEnv(t, coordinator.StrategyRedisLock, nil)
	e.stage(coordinator.Upload{ID: "w1", User: "ned", Path: "a.txt", Device: "d"}, content(1))
	c, err := coordinator.New(coordinator.Config{Bucket: e.bucket, Prefix: "t:", Now: time.Now},
		coordinator.NewRetryStore(e.s3, coordinator.RetryPolicy{}), e.rdb)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := c.Reconcile(context.Background(), 0); n != 1 || err != nil {
		t.Fatalf("Reconcile = %d, %v", n, err)
	}
	var _ s3.ListObjectsV2APIClient = coordinator.NewRetryStore(e.s3, coordinator.RetryPolicy{})
}
