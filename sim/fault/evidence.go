package fault

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/stormsim/stormsim/internal/syncx"
	"github.com/stormsim/stormsim/scenarios"
)

// Unmet lists the faults whose evidence requirements (Fault.MinInjected,
// MinTaken, MinOvertaken) the run did not meet: each acted fewer times than the scenario needs for
// the situation it exists for to have happened, so a guard it proves was
// never tested. Call it after Lift. A skipped fault (the environment
// cannot take it) with a requirement is unmet too.
func (f *Set) Unmet() []string {
	var out []string
	for i, s := range f.specs {
		for _, need := range []struct {
			field    string
			min, got int64
			what     string
		}{
			{"min_injected", s.MinInjected, f.injected[i].Load(), "acted"},
			{"min_taken", s.MinTaken, f.taken[i].Load(), "stalled while another holder took the lock"},
			{"min_overtaken", s.MinOvertaken, f.overtaken[i].Load(), "stalled while a newer version was committed"},
		} {
			switch {
			case need.min <= 0:
			case f.skip[i] != "":
				out = append(out, fmt.Sprintf("faults[%d] %s needs %s %d but was skipped (%s)", i, s.Kind, need.field, need.min, f.skip[i]))
			case need.got < need.min:
				out = append(out, fmt.Sprintf("faults[%d] %s %s %d time(s), fewer than its %s %d: the situation it exists for did not happen often enough (a busy machine, or the uploads came after its window), so the guards it tests were not proven",
					i, s.Kind, need.what, need.got, need.field, need.min))
			}
		}
	}
	return out
}

// evidenceDetail is what a stall fault's window adds to its detail.
func (f *Set) evidenceDetail(i int) string {
	switch f.specs[i].Kind {
	case RedisLockExpiry, RedisFenceRollback:
		return fmt.Sprintf(" taken=%d overtaken=%d", f.taken[i].Load(), f.overtaken[i].Load())
	}
	return ""
}

// fileState is what a stall's evidence compares: a file's fencing counter
// (a newer holder took the lock) and head version (a newer upload
// committed).
type fileState struct{ fence, head int64 }

func readState(fence, head *redis.StringCmd) fileState {
	var st fileState
	st.fence, _ = fence.Int64()
	st.head, _ = head.Int64()
	return st
}

// stall is redis-lock-expiry and redis-fence-rollback: the handler's own
// lock goes (and with rollback its fence increment), then the handler
// stalls; afterwards it counts whether the situation the fault exists for
// happened meanwhile: another holder took the file's lock (taken) and
// another upload committed a newer version of it (overtaken).
func (f *Set) stall(ctx context.Context, s *scenarios.Fault, id string, rollback bool) {
	k, before, ok := f.loseOwnLock(ctx, id, rollback)
	syncx.Sleep(ctx, s.Latency)
	if !ok {
		return
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	var fence, head *redis.StringCmd
	_, err := f.target.Redis.Pipelined(rctx, func(p redis.Pipeliner) error {
		fence, head = p.Get(rctx, k.Fence), p.HGet(rctx, k.Head, "v")
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return
	}
	after := readState(fence, head)
	i, ok := f.index(s)
	if !ok {
		return
	}
	if after.fence > before.fence {
		f.taken[i].Add(1)
	}
	if after.head > before.head {
		f.overtaken[i].Add(1)
	}
}

// index is the position of spec s (a pointer into f.specs).
func (f *Set) index(s *scenarios.Fault) (int, bool) {
	for i := range f.specs {
		if &f.specs[i] == s {
			return i, true
		}
	}
	return 0, false
}
