package coordinator_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stormsim/stormsim/coordinator"
)

// TestHooks_Nil_KeepEveryGuard: without hooks the coordinator runs the
// built-in scripts, and the guards hold (a hostile path is rejected).
func TestHooks_Nil_KeepEveryGuard(t *testing.T) {
	for _, name := range []string{coordinator.ScriptLock, coordinator.ScriptCommit, coordinator.ScriptResult,
		coordinator.ScriptRelease, coordinator.ScriptCopyName, coordinator.ScriptCommitOnce} {
		if src, ok := coordinator.ScriptSource(name); !ok || !strings.Contains(src, "redis.call") {
			t.Errorf("ScriptSource(%q) = %q, %v", name, src, ok)
		}
	}
	if _, ok := coordinator.ScriptSource("nope"); ok {
		t.Error("ScriptSource of an unknown name succeeded")
	}
}

// TestHooks_Disabled_PathValidation: with GuardPathValidation off, a path
// the guard refuses is decided; with it on (and with other guards off) it
// is rejected.
func TestHooks_Disabled_PathValidation(t *testing.T) {
	tests := []struct {
		name  string
		off   string
		state string
	}{
		{"guard on", "", coordinator.StateRejected},
		{"another guard off", coordinator.GuardLateCopyRepair, coordinator.StateRejected},
		{"guard off", coordinator.GuardPathValidation, coordinator.StateCommitted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t, coordinator.StrategyRedisLock,
				&coordinator.Hooks{Disabled: func(g string) bool { return g == tt.off }})
			good := content(1)
			u := coordinator.Upload{ID: "h1", User: "erin", Path: "ok.txt", Device: "a", SHA256: sum(good)}
			meta := coordinator.Metadata(u)
			meta["path"] = "a/../../etc/passwd"
			ev := e.stageRaw(coordinator.StagingKey("erin", "h1"), meta, good)
			if err := e.c.HandleEvent(context.Background(), ev); err != nil {
				t.Fatal(err)
			}
			if r := e.result("erin", "h1"); r.State != tt.state {
				t.Errorf("state = %q, want %q", r.State, tt.state)
			}
		})
	}
}

// TestHooks_Script_ReplacesSource: a replaced script is the one that runs
// (here a release that deletes whoever holds the lock), and the hook sees
// every script once, with its built-in source.
func TestHooks_Script_ReplacesSource(t *testing.T) {
	seen := map[string]bool{}
	e := newTestEnv(t, coordinator.StrategyRedisLock, &coordinator.Hooks{Script: func(name, src string) string {
		if want, _ := coordinator.ScriptSource(name); want != src || seen[name] {
			t.Errorf("script %s: called twice or with another source", name)
		}
		seen[name] = true
		if name == coordinator.ScriptResult {
			return strings.Replace(src, "redis.call('PUBLISH', ARGV[4], ARGV[1])", "redis.call('SET', 'hooked', '1')", 1)
		}
		return src
	}})
	if len(seen) != 6 {
		t.Errorf("hook saw %d scripts, want 6", len(seen))
	}
	good := content(2)
	u := coordinator.Upload{ID: "s1", User: "erin", Path: "a.txt", Device: "a", SHA256: sum(good)}
	if err := e.c.HandleEvent(context.Background(), e.stage(u, good)); err != nil {
		t.Fatal(err)
	}
	if v, err := e.rdb.Get(context.Background(), "hooked").Result(); err != nil || v != "1" {
		t.Errorf("the replaced result script did not run: %q, %v", v, err)
	}
}

// TestHooks_FenceObserver_SeesEveryToken: an Observer that implements
// FenceObserver learns each token as issued, with the upload and file.
func TestHooks_FenceObserver_SeesEveryToken(t *testing.T) {
	e := newTestEnv(t, coordinator.StrategyRedisLock, nil)
	obs := &fenceRecorder{testEnv: e}
	c, err := coordinator.New(coordinator.Config{Bucket: e.bucket, Prefix: "t:", Now: e.c.Config().Now, Observer: obs}, e.s3, e.rdb)
	if err != nil {
		t.Fatal(err)
	}
	for i, id := range []string{"f1", "f2"} {
		good := content(i)
		u := coordinator.Upload{ID: id, User: "erin", Path: "a.txt", Base: int64(i), Device: "a", SHA256: sum(good)}
		if err := c.HandleEvent(context.Background(), e.stage(u, good)); err != nil {
			t.Fatal(err)
		}
	}
	if len(obs.fences) != 2 || obs.fences[0].Fence != 1 || obs.fences[1].Fence != 2 ||
		obs.fences[1].UploadID != "f2" || obs.fences[1].Path != "a.txt" || obs.fences[1].At.IsZero() {
		t.Errorf("fences = %+v, want tokens 1 and 2 for f1 and f2 on a.txt", obs.fences)
	}
}

type fenceRecorder struct {
	*testEnv
	fences []coordinator.FenceIssued
}

func (r *fenceRecorder) Fenced(f coordinator.FenceIssued) { r.fences = append(r.fences, f) }
