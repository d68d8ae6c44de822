package coordinator_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/stormsim/stormsim/coordinator"
	"github.com/stormsim/stormsim/internal/objstore"
)

// forEachStore runs a late-copy test on s3mem and on the copy-on-write
// store bounded to one version per file (the tightest lifecycle bound): the
// repair reads only the head's version, which the bound always keeps.
func forEachStore(t *testing.T, test func(t *testing.T, store gofakes3.Backend)) {
	t.Run("s3mem", func(t *testing.T) { test(t, s3mem.New()) })
	t.Run("objstore-keep1", func(t *testing.T) {
		store := objstore.New(objstore.Options{Lifecycle: objstore.Lifecycle{Prefix: coordinator.VersionPrefix, Keep: 1}})
		test(t, store)
		if st := store.Stats(); st.Pruned == 0 {
			t.Errorf("no version was pruned (%+v): the bound was not exercised", st)
		}
	})
}

// A retry of a winner that crashed after its commit copies its version to
// the final key. If it loses its lock on the way (a pause longer than the
// TTL) and a newer winner commits and copies meanwhile, the retry's copy
// buries the newer head: the head it read when it took the lock is stale,
// so it must repair from the head as it is now.
func TestHandler_RetryAfterCommitLosesLock_FinalStaysHead(t *testing.T) {
	forEachStore(t, testRetryAfterCommitLosesLock)
}

func testRetryAfterCommitLosesLock(t *testing.T, store gofakes3.Backend) {
	var crashed, retried atomic.Bool
	p := newPause()
	hooks := &coordinator.Hooks{Step: func(ctx context.Context, id, step string) error {
		switch {
		case id == "late" && step == coordinator.StepAfterCommit && crashed.CompareAndSwap(false, true):
			return coordinator.ErrCrash
		case id == "late" && step == coordinator.StepAfterLock && crashed.Load() && retried.CompareAndSwap(false, true):
			p.hold()
		}
		return nil
	}}
	e := newTestEnvOn(t, store, coordinator.StrategyRedisLock, hooks)
	ctx := context.Background()
	late := e.stage(coordinator.Upload{ID: "late", User: "ivy", Path: "doc.txt", Base: 0, Device: "a"}, content(1))
	if err := e.c.HandleEvent(ctx, late); !errors.Is(err, coordinator.ErrCrash) {
		t.Fatalf("first invocation: %v, want the injected crash", err)
	}
	e.mr.FastForward(6 * time.Second) // the crashed holder's lock expires
	errc := e.handleAsync(ctx, late)
	<-p.reached
	e.rdb.Del(ctx, e.c.KeysFor("ivy", "doc.txt", "late").Lock) // the retry's lock expires during its pause
	next := e.stage(coordinator.Upload{ID: "next", User: "ivy", Path: "doc.txt", Base: 1, Device: "b"}, content(2))
	if err := e.c.HandleEvent(ctx, next); err != nil {
		t.Fatal(err)
	}
	close(p.resume)
	if err := <-errc; err != nil {
		t.Fatalf("retry: %v", err)
	}
	if r := e.result("ivy", "next"); r.State != coordinator.StateCommitted || r.Version != 2 {
		t.Fatalf("next = %+v", r)
	}
	if got := e.read(coordinator.FinalKey("ivy", "doc.txt")); sum(got) != sum(content(2)) {
		t.Errorf("final object holds %q, want version 2's bytes: the retry's copy buried the head", got)
	}
}

// A winner pauses after its commit and loses its lock; a duplicate
// delivery of the same upload answers it (the device learns version 1) and
// the device's next edit commits version 2. The paused winner's late copy
// of version 1 then lands on the final key. Its repair must take the lock
// although the upload already has a result.
func TestHandler_LateCopyAfterDuplicateAnswered_FinalStaysHead(t *testing.T) {
	forEachStore(t, testLateCopyAfterDuplicateAnswered)
}

func testLateCopyAfterDuplicateAnswered(t *testing.T, store gofakes3.Backend) {
	var committed, answered atomic.Bool
	p, dup := newPause(), newPause()
	hooks := &coordinator.Hooks{Step: func(ctx context.Context, id, step string) error {
		switch {
		case id == "late" && step == coordinator.StepAfterCommit && committed.CompareAndSwap(false, true):
			p.hold()
		case id == "late" && step == coordinator.StepAfterResult && answered.CompareAndSwap(false, true):
			// The duplicate keeps the staged object until the late copy.
			dup.hold()
		}
		return nil
	}}
	e := newTestEnvOn(t, store, coordinator.StrategyRedisLock, hooks)
	ctx := context.Background()
	late := e.stage(coordinator.Upload{ID: "late", User: "ivy", Path: "doc.txt", Base: 0, Device: "a"}, content(1))
	errc := e.handleAsync(ctx, late)
	<-p.reached
	e.rdb.Del(ctx, e.c.KeysFor("ivy", "doc.txt", "late").Lock) // the winner's lock expires during its pause
	dupc := e.handleAsync(ctx, late)
	<-dup.reached
	if r := e.result("ivy", "late"); r.State != coordinator.StateCommitted || r.Version != 1 {
		t.Fatalf("late = %+v, want answered as version 1 by its duplicate", r)
	}
	next := e.stage(coordinator.Upload{ID: "next", User: "ivy", Path: "doc.txt", Base: 1, Device: "a"}, content(2))
	if err := e.c.HandleEvent(ctx, next); err != nil {
		t.Fatal(err)
	}
	close(p.resume)
	if err := <-errc; err != nil {
		t.Fatalf("paused winner: %v", err)
	}
	close(dup.resume)
	if err := <-dupc; err != nil {
		t.Fatalf("duplicate: %v", err)
	}
	if got := e.read(coordinator.FinalKey("ivy", "doc.txt")); sum(got) != sum(content(2)) {
		t.Errorf("final object holds %q, want version 2's bytes: the late copy buried the head", got)
	}
	if lock := e.c.KeysFor("ivy", "doc.txt", "late").Lock; e.mr.Exists(lock) {
		t.Errorf("lock %s left after the repair", lock)
	}
}
