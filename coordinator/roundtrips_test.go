package coordinator_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/stormsim/stormsim/coordinator"
	"github.com/stormsim/stormsim/model"
)

// tripCounter counts Redis round trips: one per command sent alone, one
// per pipeline however many commands it holds.
type tripCounter struct {
	mu    sync.Mutex
	names []string
}

func (r *tripCounter) DialHook(next redis.DialHook) redis.DialHook { return next }
func (r *tripCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		r.add(strings.ToLower(cmd.Name()))
		return next(ctx, cmd)
	}
}
func (r *tripCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		names := make([]string, len(cmds))
		for i, c := range cmds {
			names[i] = strings.ToLower(c.Name())
		}
		r.add("pipeline(" + strings.Join(names, ",") + ")")
		return next(ctx, cmds)
	}
}

func (r *tripCounter) add(name string) {
	r.mu.Lock()
	r.names = append(r.names, name)
	r.mu.Unlock()
}

func (r *tripCounter) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := r.names
	r.names = nil
	return n
}

// roundTrips are the redis-lock handler's Redis round trips per outcome.
// A change that adds one must say why here; docs/design.md ("Redis round
// trips per upload") gives the same figures and the guard each carries.
var roundTrips = map[string]int{
	"commit":              3, // lock, commit, result (holder check, set-once, publish, release)
	"conflict":            3, // lock, copy name, result
	"duplicate":           0, // after the cleanup: the staged object is gone, nothing to do
	"retry-after-lock":    3, // the crashed holder's lock expired: as a commit
	"retry-after-commit":  2, // lock (finds the commit record), result
	"retry-after-copy":    2,
	"retry-after-result":  1, // a duplicate before the cleanup: the lock script answers "done"
	"conflict-after-lock": 3,
}

// TestHandler_RoundTrips_PerOutcome counts the Redis round trips of the
// real handler for every outcome (the first invocation of a retried one
// crashed at the named step; only the retry is counted).
func TestHandler_RoundTrips_PerOutcome(t *testing.T) {
	got := map[string]int{}
	var lines []string
	measure := func(name string, crashAt string, base int64, prepare func(e *testEnv)) {
		t.Helper()
		var crashed atomic.Bool
		e := newTestEnv(t, coordinator.StrategyRedisLock, &coordinator.Hooks{Step: func(ctx context.Context, id, s string) error {
			if id == "u" && s == crashAt && crashed.CompareAndSwap(false, true) {
				return coordinator.ErrCrash
			}
			return nil
		}})
		ctx := context.Background()
		for _, name := range scriptNames {
			// Loaded first, as on a warm server: go-redis's EVALSHA then
			// never misses and falls back to EVAL.
			src, _ := coordinator.ScriptSource(name)
			if err := e.rdb.ScriptLoad(ctx, src).Err(); err != nil {
				t.Fatal(err)
			}
		}
		rt := &tripCounter{}
		e.rdb.AddHook(rt)
		if err := e.c.HandleEvent(ctx, e.stage(coordinator.Upload{ID: "v1", User: "rt", Path: "a.txt", Device: "a"}, content(1))); err != nil {
			t.Fatal(err)
		}
		ev := e.stage(coordinator.Upload{ID: "u", User: "rt", Path: "a.txt", Base: base, Device: "b"}, content(2))
		if prepare != nil {
			prepare(e)
		}
		if crashAt != "" {
			if err := e.c.HandleEvent(ctx, ev); !errors.Is(err, coordinator.ErrCrash) {
				t.Fatalf("%s: first invocation: %v, want the injected crash", name, err)
			}
			e.mr.FastForward(6 * time.Second)
		}
		rt.take()
		if err := e.c.HandleEvent(ctx, ev); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		calls := rt.take()
		if name == "duplicate" {
			if err := e.c.HandleEvent(ctx, ev); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			calls = rt.take()
		}
		got[name] = len(calls)
		lines = append(lines, fmt.Sprintf("%-20s %d  %s", name, len(calls), strings.Join(calls, " ")))
	}
	measure("commit", "", 1, nil)
	measure("conflict", "", 0, nil)
	measure("duplicate", "", 1, nil)
	measure("retry-after-lock", coordinator.StepAfterLock, 1, nil)
	measure("retry-after-commit", coordinator.StepAfterCommit, 1, nil)
	measure("retry-after-copy", coordinator.StepAfterCopy, 1, nil)
	measure("retry-after-result", coordinator.StepAfterResult, 1, nil)
	measure("conflict-after-lock", coordinator.StepAfterLock, 0, nil)
	t.Log("Redis round trips per outcome:\n" + strings.Join(lines, "\n"))
	for name, n := range got {
		if want, ok := roundTrips[name]; !ok || n != want {
			t.Errorf("%s: %d round trips, want %d", name, n, want)
		}
	}
}

// TestHandler_RoundTrips_AgreeWithModel: the model's recorder (what the
// plan and the model replay) sees the same Redis calls per outcome as the
// counter above, so the figures are the real handler's.
func TestHandler_RoundTrips_AgreeWithModel(t *testing.T) {
	seqs, err := model.RecordEmbedded(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	count := func(calls []model.Call) int {
		n := 0
		for _, c := range calls {
			if strings.HasPrefix(string(c), "redis.") {
				n++
			}
		}
		return n
	}
	pre := count(seqs.Prefix) + 1 // the lock script
	for outcome, name := range map[string]string{model.SeqCommit: "commit", model.SeqConflict: "conflict", model.SeqDone: "retry-after-result"} {
		if got, want := pre+count(seqs.Tails[outcome]), roundTrips[name]; got != want {
			t.Errorf("model records %d Redis calls for %s (%v), the counter %d", got, outcome, seqs.Tails[outcome], want)
		}
	}
	if got := count(seqs.Gone); got != roundTrips["duplicate"] {
		t.Errorf("model records %d Redis calls for a duplicate after cleanup, the counter %d", got, roundTrips["duplicate"])
	}
}

var scriptNames = []string{coordinator.ScriptLock, coordinator.ScriptCommit, coordinator.ScriptResult,
	coordinator.ScriptRelease, coordinator.ScriptCopyName, coordinator.ScriptCommitOnce}
