package coordinator_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stormsim/stormsim/coordinator"
)

func TestCoordinator_ObjectPrefix_KeepsToItsPrefix(t *testing.T) {
	for _, strategy := range strategies {
		t.Run(string(strategy), func(t *testing.T) {
			e := newTestEnv(t, strategy, nil)
			ctx := context.Background()
			c, err := coordinator.New(coordinator.Config{Bucket: e.bucket, Strategy: strategy, Prefix: "run1:",
				ObjectPrefix: "tenants/run1/", Now: time.Now}, e.s3, e.rdb)
			if err != nil {
				t.Fatal(err)
			}
			// Another tenant's staged upload, at the unprefixed key: ignored.
			other := coordinator.Upload{ID: "o1", User: "alice", Path: "a.txt", Device: "d1"}
			if err := c.HandleEvent(ctx, e.stage(other, content(9))); err != nil {
				t.Fatal(err)
			}
			if got := e.keys(coordinator.StagingPrefix); len(got) != 1 {
				t.Fatalf("the other tenant's staged object was touched: %v", got)
			}
			for i, id := range []string{"w", "l"} {
				u := coordinator.Upload{ID: id, User: "alice", Path: "a.txt", Device: "d1"}
				u.SHA256 = sum(content(i))
				ev := e.stageRaw(c.StagingKey(u.User, u.ID), coordinator.Metadata(u), content(i))
				if err := c.HandleEvent(ctx, ev); err != nil {
					t.Fatal(err)
				}
			}
			if got := e.read("tenants/run1/files/alice/a.txt"); sum(got) != sum(content(0)) {
				t.Errorf("final object under the prefix has %q", got)
			}
			r, ok, err := c.Result(ctx, "alice", "l")
			if err != nil || !ok || r.State != coordinator.StateConflict || !strings.HasPrefix(r.Copy, "tenants/run1/files/alice/") {
				t.Errorf("loser: %+v ok=%v err=%v", r, ok, err)
			}
			if got := e.keys(c.StagingPrefix()); len(got) != 0 {
				t.Errorf("staged objects left under the prefix: %v", got)
			}
			if got := e.keys(coordinator.FinalPrefix); len(got) != 0 {
				t.Errorf("objects written outside the prefix: %v", got)
			}
		})
	}
}

func TestNew_ObjectPrefix_Invalid(t *testing.T) {
	for _, p := range []string{"run1", "/run1/", "a//b/"} {
		if _, err := coordinator.New(coordinator.Config{Bucket: "b", ObjectPrefix: p, Now: time.Now}, nil, nil); err == nil {
			t.Errorf("prefix %q accepted", p)
		}
	}
}
