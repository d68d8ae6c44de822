package fault

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/stormsim/stormsim/coordinator"
	"github.com/stormsim/stormsim/scenarios"
)

// TestSet_Stall_Evidence: a stall counts as taken when another holder
// took the file's lock (a newer fencing token) before it ended, and as
// overtaken when a newer version was committed meanwhile; a stall that
// nothing happened during counts as neither.
func TestSet_Stall_Evidence(t *testing.T) {
	tests := []struct {
		name                string
		rollback            bool
		incrFence, bumpHead bool
		wantTaken, wantOver int64
	}{
		{"quiet", false, false, false, 0, 0},
		{"taken", false, true, false, 1, 0},
		{"taken and overtaken", false, true, true, 1, 1},
		{"rollback, same token reissued", true, true, false, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mr := miniredis.RunT(t)
			rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
			t.Cleanup(func() { rdb.Close() })
			c, err := coordinator.New(coordinator.Config{Bucket: "b", Prefix: "p:", Now: time.Now}, nil, rdb)
			if err != nil {
				t.Fatal(err)
			}
			k := c.KeysFor("u1", "a.txt", "id1")
			mr.Set(k.Lock, "token")
			mr.Set(k.Fence, "5")
			mr.HSet(k.Head, "v", "3")
			specs := []scenarios.Fault{{Kind: RedisLockExpiry, Latency: time.Hour, MinTaken: 1, MinOvertaken: 1}}
			f := New(specs, 1, time.Now, nil)
			f.target, f.coord = Target{Redis: rdb}, c
			f.lease = func(string) (string, string, bool) { return "u1", "a.txt", true }
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() {
				defer close(done)
				f.stall(ctx, &f.specs[0], "id1", tt.rollback)
			}()
			// The lock goes in the same transaction that reads the state
			// the stall compares with: once it is gone, the stall is on.
			for mr.Exists(k.Lock) {
				runtime.Gosched()
			}
			if tt.incrFence {
				rdb.Incr(context.Background(), k.Fence)
			}
			if tt.bumpHead {
				rdb.HSet(context.Background(), k.Head, "v", 4)
			}
			cancel() // ends the stall
			<-done
			if got := f.taken[0].Load(); got != tt.wantTaken {
				t.Errorf("taken = %d, want %d", got, tt.wantTaken)
			}
			if got := f.overtaken[0].Load(); got != tt.wantOver {
				t.Errorf("overtaken = %d, want %d", got, tt.wantOver)
			}
			unmet := strings.Join(f.Unmet(), "\n")
			if (tt.wantTaken == 0) != strings.Contains(unmet, "min_taken 1") {
				t.Errorf("unmet = %q, want min_taken reported only when nothing took the lock", unmet)
			}
		})
	}
}

// TestSet_Unmet_Cases: min_injected below the count, or a skipped fault
// with a requirement, is reported; met requirements and faults without
// one are not.
func TestSet_Unmet_Cases(t *testing.T) {
	tests := []struct {
		name     string
		spec     scenarios.Fault
		injected int64
		skip     string
		want     string
	}{
		{"no requirement", scenarios.Fault{Kind: EventDrop}, 0, "", ""},
		{"met", scenarios.Fault{Kind: EventDrop, MinInjected: 3}, 3, "", ""},
		{"unmet", scenarios.Fault{Kind: EventDrop, MinInjected: 3}, 2, "", "faults[0] event-drop acted 2 time(s), fewer than its min_injected 3"},
		{"skipped", scenarios.Fault{Kind: S3Error, MinInjected: 1}, 0, "needs the embedded S3", "faults[0] s3-error needs min_injected 1 but was skipped (needs the embedded S3)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := New([]scenarios.Fault{tt.spec}, 1, time.Now, nil)
			f.injected[0].Store(tt.injected)
			f.skip[0] = tt.skip
			got := strings.Join(f.Unmet(), "\n")
			if tt.want == "" && got != "" || !strings.Contains(got, tt.want) {
				t.Errorf("Unmet() = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestSet_Phase_KeysSteps: a fault keyed to a phase acts only on the
// steps of that phase's uploads, whenever they run; others are untouched.
func TestSet_Phase_KeysSteps(t *testing.T) {
	specs := []scenarios.Fault{{Kind: HandlerCrash, Step: coordinator.StepAfterCommit, Probability: 1, Phase: "first"}}
	f := New(specs, 1, time.Now, nil)
	f.active[0].Store(true)
	if !f.Phased() {
		t.Fatal("Phased() = false")
	}
	f.Staging("a", "first")
	f.Staging("b", "edit")
	for _, tt := range []struct {
		id, step string
		crash    bool
	}{
		{"a", coordinator.StepAfterCommit, true},
		{"a", coordinator.StepAfterLock, false},
		{"b", coordinator.StepAfterCommit, false},
		{"never-staged", coordinator.StepAfterCommit, false},
	} {
		err := f.step(context.Background(), tt.id, tt.step)
		if got := err != nil; got != tt.crash {
			t.Errorf("%s at %s: crashed %v, want %v", tt.id, tt.step, got, tt.crash)
		}
	}
	if got := f.injected[0].Load(); got != 1 {
		t.Errorf("injected = %d, want 1", got)
	}
}
