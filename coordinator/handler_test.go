package coordinator_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/stormsim/stormsim/coordinator"
)

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }

var strategies = coordinator.Strategies

func TestHandler_ConcurrentUploads_OneWinner(t *testing.T) {
	for _, strategy := range strategies {
		for _, n := range []int{2, 8, 64} {
			t.Run(fmt.Sprintf("%s/%d", strategy, n), func(t *testing.T) {
				e := newTestEnv(t, strategy, nil)
				ctx := context.Background()
				evs := make([]events.S3Event, n)
				for i := range n {
					u := coordinator.Upload{ID: fmt.Sprintf("up%d", i), User: "alice", Path: "notes/plan.txt", Base: 0, Device: fmt.Sprintf("d%d", i)}
					evs[i] = e.stage(u, content(i))
				}
				var wg sync.WaitGroup
				errs := make([]error, n)
				for i := range n {
					wg.Add(1)
					go func() {
						defer wg.Done()
						errs[i] = e.c.HandleEvent(ctx, evs[i])
					}()
				}
				wg.Wait()
				winners := 0
				var winner int
				for i := range n {
					if errs[i] != nil {
						t.Fatalf("upload %d: %v", i, errs[i])
					}
					r := e.result("alice", fmt.Sprintf("up%d", i))
					switch r.State {
					case coordinator.StateCommitted:
						winners++
						winner = i
						if r.Version != 1 {
							t.Errorf("winner version = %d, want 1", r.Version)
						}
					case coordinator.StateConflict:
						if got := e.read(r.Copy); sum(got) != sum(content(i)) {
							t.Errorf("upload %d: conflicted copy %q holds %d bytes, not the loser's", i, r.Copy, len(got))
						}
						if !strings.Contains(r.Copy, "plan (conflicted copy d") || !strings.HasSuffix(r.Copy, ".txt") {
							t.Errorf("conflicted copy name %q", r.Copy)
						}
					default:
						t.Errorf("upload %d: state %q", i, r.State)
					}
				}
				if winners != 1 {
					t.Fatalf("%d winners, want exactly 1", winners)
				}
				if got := e.read(coordinator.FinalKey("alice", "notes/plan.txt")); sum(got) != sum(content(winner)) {
					t.Errorf("final object is not the winner's content")
				}
				if left := e.keys(coordinator.StagingPrefix); len(left) != 0 {
					t.Errorf("staged objects left: %v", left)
				}
			})
		}
	}
}

func TestHandler_DuplicateAndLateEvents_Idempotent(t *testing.T) {
	for _, strategy := range strategies {
		t.Run(string(strategy), func(t *testing.T) {
			e := newTestEnv(t, strategy, nil)
			ctx := context.Background()
			count, stop := e.pushes("bob")
			defer stop()
			ev1 := e.stage(coordinator.Upload{ID: "first", User: "bob", Path: "a.md", Base: 0, Device: "phone"}, content(1))
			for range 3 {
				if err := e.c.HandleEvent(ctx, ev1); err != nil {
					t.Fatal(err)
				}
			}
			r1 := e.result("bob", "first")
			ev2 := e.stage(coordinator.Upload{ID: "second", User: "bob", Path: "a.md", Base: 1, Device: "laptop"}, content(2))
			if err := e.c.HandleEvent(ctx, ev2); err != nil {
				t.Fatal(err)
			}
			// The old event arrives again, late, after a newer commit.
			if err := e.c.HandleEvent(ctx, ev1); err != nil {
				t.Fatal(err)
			}
			if got := e.result("bob", "first"); got != r1 || got.State != coordinator.StateCommitted || got.Version != 1 {
				t.Errorf("first result changed: %+v then %+v", r1, got)
			}
			if got := e.result("bob", "second"); got.State != coordinator.StateCommitted || got.Version != 2 {
				t.Errorf("second = %+v", got)
			}
			for _, id := range []string{"first", "second"} {
				if n := count(id); n != 1 {
					t.Errorf("%s: %d pushes, want 1", id, n)
				}
				if d := e.decisionsFor(id); len(d) != 1 {
					t.Errorf("%s: %d decisions, want 1", id, len(d))
				}
			}
			if got := e.read(coordinator.FinalKey("bob", "a.md")); sum(got) != sum(content(2)) {
				t.Errorf("final object is not version 2")
			}
		})
	}
}

func TestHandler_PausedPastLockTTL_FenceRejectsCommit(t *testing.T) {
	p := newPause()
	hooks := &coordinator.Hooks{Step: func(ctx context.Context, id, step string) error {
		if id == "slow" && step == coordinator.StepAfterLock {
			p.hold() // only the first invocation pauses
		}
		return nil
	}}
	e := newTestEnv(t, coordinator.StrategyRedisLock, hooks)
	ctx := context.Background()
	slow := e.stage(coordinator.Upload{ID: "slow", User: "carol", Path: "f.bin", Base: 0, Device: "a"}, content(1))
	fast := e.stage(coordinator.Upload{ID: "fast", User: "carol", Path: "f.bin", Base: 0, Device: "b"}, content(2))
	errc := e.handleAsync(ctx, slow)
	<-p.reached
	e.mr.FastForward(6 * time.Second) // the slow holder's lock expires
	if err := e.c.HandleEvent(ctx, fast); err != nil {
		t.Fatal(err)
	}
	close(p.resume)
	err := <-errc
	if !errors.Is(err, coordinator.ErrFenced) {
		t.Fatalf("paused handler: err = %v, want ErrFenced", err)
	}
	// Lambda retries the event: now it is a conflict.
	if err := e.c.HandleEvent(ctx, slow); err != nil {
		t.Fatal(err)
	}
	if r := e.result("carol", "slow"); r.State != coordinator.StateConflict || r.Head != 1 {
		t.Errorf("slow = %+v, want conflict at head 1", r)
	}
	if r := e.result("carol", "fast"); r.State != coordinator.StateCommitted || r.Version != 1 {
		t.Errorf("fast = %+v", r)
	}
	if got := e.read(coordinator.FinalKey("carol", "f.bin")); sum(got) != sum(content(2)) {
		t.Errorf("final object is not the fenced winner's")
	}
}

func TestHandler_CrashBetweenSteps_RetryReachesSameOutcome(t *testing.T) {
	for _, strategy := range strategies {
		for _, step := range coordinator.Steps {
			if strategy == coordinator.StrategyS3Conditional && step == coordinator.StepAfterLock {
				continue // no lock in this strategy
			}
			t.Run(string(strategy)+"/"+step, func(t *testing.T) {
				var crashed atomic.Bool
				hooks := &coordinator.Hooks{Step: func(ctx context.Context, id, s string) error {
					if s == step && crashed.CompareAndSwap(false, true) {
						return coordinator.ErrCrash
					}
					return nil
				}}
				e := newTestEnv(t, strategy, hooks)
				ctx := context.Background()
				ev := e.stage(coordinator.Upload{ID: "u1", User: "dan", Path: "x/y.txt", Base: 0, Device: "a"}, content(7))
				if err := e.c.HandleEvent(ctx, ev); !errors.Is(err, coordinator.ErrCrash) {
					t.Fatalf("first invocation: %v, want the injected crash", err)
				}
				e.mr.FastForward(6 * time.Second) // a crashed holder's lock expires
				if err := e.c.HandleEvent(ctx, ev); err != nil {
					t.Fatalf("retry: %v", err)
				}
				r := e.result("dan", "u1")
				if r.State != coordinator.StateCommitted || r.Version != 1 {
					t.Fatalf("result = %+v, want committed version 1", r)
				}
				if v, _ := e.c.HeadVersion(ctx, "dan", "x/y.txt"); v != 1 {
					t.Errorf("head = %d, want 1 (no second version)", v)
				}
				if d := e.decisionsFor("u1"); len(d) != 1 {
					t.Errorf("%d decisions, want 1", len(d))
				}
				if got := e.read(coordinator.FinalKey("dan", "x/y.txt")); sum(got) != sum(content(7)) {
					t.Errorf("final object missing or wrong")
				}
			})
		}
	}
}

func TestHandler_HostileUploads_Rejected(t *testing.T) {
	good := content(3)
	tests := []struct {
		name   string
		key    string
		meta   map[string]string
		reason string
	}{
		{"dotdot", "", map[string]string{"path": "a/../../etc/passwd"}, "not clean"},
		{"absolute", "", map[string]string{"path": "%2Fetc%2Fpasswd"}, "absolute"},
		{"control", "", map[string]string{"path": "a%0Ab"}, "control character"},
		{"too long", "", map[string]string{"path": strings.Repeat("a", 1025)}, "more than 1024"},
		{"cross user", "", map[string]string{"user": "mallory"}, "does not match"},
		{"bad sha", "", map[string]string{"sha256": strings.Repeat("0", 64)}, "does not match declared"},
		{"missing base", "", map[string]string{"base": ""}, "base"},
	}
	for _, strategy := range strategies {
		for _, tt := range tests {
			t.Run(string(strategy)+"/"+tt.name, func(t *testing.T) {
				e := newTestEnv(t, strategy, nil)
				u := coordinator.Upload{ID: "h1", User: "erin", Path: "ok.txt", Device: "a", SHA256: sum(good)}
				meta := coordinator.Metadata(u)
				for k, v := range tt.meta {
					meta[k] = v
				}
				ev := e.stageRaw(coordinator.StagingKey("erin", "h1"), meta, good)
				if err := e.c.HandleEvent(context.Background(), ev); err != nil {
					t.Fatal(err)
				}
				r := e.result("erin", "h1")
				if r.State != coordinator.StateRejected || !strings.Contains(r.Reason, tt.reason) {
					t.Errorf("result = %+v, want rejected with %q", r, tt.reason)
				}
				if ks := e.keys(coordinator.FinalPrefix); len(ks) != 0 {
					t.Errorf("written under the final prefix: %v", ks)
				}
			})
		}
	}
}

func TestAPI_Auth(t *testing.T) {
	e := newTestEnv(t, coordinator.StrategyRedisLock, nil)
	tokens := coordinator.Tokens{Secret: []byte("s")}
	srv := httptest.NewServer(e.c.API(tokens))
	defer srv.Close()
	ev := e.stage(coordinator.Upload{ID: "q1", User: "fay", Path: "p.txt", Device: "a"}, content(1))
	pending := e.stage(coordinator.Upload{ID: "q2", User: "fay", Path: "p2.txt", Device: "a"}, content(2))
	_ = pending
	if err := e.c.HandleEvent(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, id, auth string
		code           int
		state          string
	}{
		{"no token", "q1", "", 401, ""},
		{"wrong token", "q1", "Bearer fay.nottherightmac", 401, ""},
		{"other user's token", "q1", "Bearer " + tokens.Token("gus"), 404, ""},
		{"owner", "q1", "Bearer " + tokens.Token("fay"), 200, "committed"},
		{"owner pending", "q2", "Bearer " + tokens.Token("fay"), 200, "pending"},
		{"unknown id", "nope", "Bearer " + tokens.Token("fay"), 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", srv.URL+"/v1/uploads/"+tt.id, nil)
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tt.code {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.code)
			}
			if tt.state != "" {
				var r coordinator.Result
				_ = json.NewDecoder(resp.Body).Decode(&r)
				if r.State != tt.state {
					t.Errorf("state %q, want %q", r.State, tt.state)
				}
			}
		})
	}
}

// A winner loses its lock (a failover drops the key) between its commit and
// its copy; a later upload commits version 2 and copies it. The first
// winner's late copy then lands on top. The final object must still end as
// version 2: the late writer notices it no longer holds the lock and
// repairs the final object from the head's immutable version.
func TestHandler_LateCopyAfterLockLoss_FinalStaysHead(t *testing.T) {
	p := newPause()
	hooks := &coordinator.Hooks{Step: func(ctx context.Context, id, step string) error {
		if id == "late" && step == coordinator.StepAfterCommit {
			p.hold()
		}
		return nil
	}}
	e := newTestEnv(t, coordinator.StrategyRedisLock, hooks)
	ctx := context.Background()
	late := e.stage(coordinator.Upload{ID: "late", User: "ivy", Path: "doc.txt", Base: 0, Device: "a"}, content(1))
	errc := e.handleAsync(ctx, late)
	<-p.reached
	e.rdb.Del(ctx, e.c.KeysFor("ivy", "doc.txt", "late").Lock) // failover: the lock is gone
	next := e.stage(coordinator.Upload{ID: "next", User: "ivy", Path: "doc.txt", Base: 1, Device: "b"}, content(2))
	if err := e.c.HandleEvent(ctx, next); err != nil {
		t.Fatal(err)
	}
	close(p.resume)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if r := e.result("ivy", "next"); r.State != coordinator.StateCommitted || r.Version != 2 {
		t.Fatalf("next = %+v", r)
	}
	if got := e.read(coordinator.FinalKey("ivy", "doc.txt")); sum(got) != sum(content(2)) {
		t.Errorf("final object holds %q, want version 2's bytes: the late copy buried the head", got)
	}
}

// Every per-upload record (result, commit record, conflicted-copy name)
// expires with the result, so Redis holds per-file state only: a server
// that kept commit records forever would grow with every upload ever made.
func TestHandler_DecisionRecordsExpire(t *testing.T) {
	for _, strategy := range strategies {
		t.Run(string(strategy), func(t *testing.T) {
			e := newTestEnv(t, strategy, nil)
			ctx := context.Background()
			var ids []string
			for i := range 6 {
				// Pairs race on the same base: one commits, one conflicts.
				id := fmt.Sprintf("u%d", i)
				ids = append(ids, id)
				ev := e.stage(coordinator.Upload{ID: id, User: "bob", Path: "a.md", Base: int64(i / 2), Device: "d" + id}, content(i))
				if err := e.c.HandleEvent(ctx, ev); err != nil {
					t.Fatal(err)
				}
			}
			for _, k := range e.mr.Keys() {
				for _, id := range ids {
					if strings.HasSuffix(k, ":"+id) {
						if ttl := e.mr.TTL(k); ttl <= 0 || ttl > 24*time.Hour {
							t.Errorf("%s: TTL %s, want (0, 24h]", k, ttl)
						}
					}
				}
			}
			e.mr.FastForward(24*time.Hour + time.Second)
			for _, k := range e.mr.Keys() {
				for _, id := range ids {
					if strings.Contains(k, id) {
						t.Errorf("%s outlived its result", k)
					}
				}
			}
		})
	}
}

func TestNew_ResultTTLUnderASecond_Refused(t *testing.T) {
	_, err := coordinator.New(coordinator.Config{Bucket: "b", Now: time.Now, ResultTTL: time.Millisecond}, nil, nil)
	if !errors.Is(err, coordinator.ErrConfig) {
		t.Fatalf("err = %v, want ErrConfig", err)
	}
}
