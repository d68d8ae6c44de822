package coordinator_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/stormsim/stormsim/coordinator"
)

// stored sums the sizes of user's objects under the final and version
// prefixes, listed from S3: what the user stores, read without the meter.
func (e *testEnv) stored(user string) int64 {
	e.t.Helper()
	var n int64
	for _, prefix := range []string{coordinator.FinalPrefix + user + "/", coordinator.VersionPrefix + user + "/"} {
		p := s3.NewListObjectsV2Paginator(e.s3, &s3.ListObjectsV2Input{Bucket: &e.bucket, Prefix: aws.String(prefix)})
		for p.HasMorePages() {
			page, err := p.NextPage(context.Background())
			if err != nil {
				e.t.Fatal(err)
			}
			for _, o := range page.Contents {
				n += aws.ToInt64(o.Size)
			}
		}
	}
	return n
}

// usage reads user's usage stream.
func (e *testEnv) usage(user string) []coordinator.UsageEvent {
	e.t.Helper()
	msgs, err := e.rdb.XRange(context.Background(), e.c.UsageStream(user), "-", "+").Result()
	if err != nil {
		e.t.Fatal(err)
	}
	var out []coordinator.UsageEvent
	for _, m := range msgs {
		ev, err := coordinator.ParseUsageEvent(m.ID, m.Values)
		if err != nil {
			e.t.Fatal(err)
		}
		out = append(out, ev)
	}
	return out
}

// checkMeter reports every way user's meter and usage stream disagree
// with storage: metered bytes against the listed bytes, the events'
// deltas against their running total, a sequence gap, an upload metered
// twice for the same kind.
func (e *testEnv) checkMeter(user string) []string {
	e.t.Helper()
	var bad []string
	metered, err := e.c.Metered(context.Background(), user)
	if err != nil {
		e.t.Fatal(err)
	}
	if s := e.stored(user); metered != s {
		bad = append(bad, "metered "+itoa(metered)+" bytes, stored "+itoa(s))
	}
	var total int64
	seen := map[string]bool{}
	for i, ev := range e.usage(user) {
		total += ev.Delta
		if ev.Bytes != total || ev.Seq != int64(i+1) {
			bad = append(bad, "event "+ev.ID+": running total or sequence off")
		}
		if k := ev.Kind + "/" + ev.Upload; seen[k] {
			bad = append(bad, "upload "+ev.Upload+" metered twice as "+ev.Kind)
		} else {
			seen[k] = true
		}
	}
	if total != metered {
		bad = append(bad, "events sum to "+itoa(total)+", meter says "+itoa(metered))
	}
	return bad
}

// TestMeter_CrashBetweenSteps_MetersOnce: an edit of an existing file (a
// commit that replaces a smaller final object) and a losing upload (a
// conflicted copy) each crash at every step, are retried and delivered
// twice more; the meter ends equal to the bytes listed in S3, with one
// usage event per upload.
func TestMeter_CrashBetweenSteps_MetersOnce(t *testing.T) {
	for _, strategy := range strategies {
		for _, step := range coordinator.Steps {
			if strategy == coordinator.StrategyS3Conditional && step == coordinator.StepAfterLock {
				continue // no lock in this strategy
			}
			t.Run(string(strategy)+"/"+step, func(t *testing.T) {
				crashed := map[string]*atomic.Bool{"edit": {}, "loser": {}}
				hooks := &coordinator.Hooks{Step: func(ctx context.Context, id, s string) error {
					if b := crashed[id]; b != nil && s == step && b.CompareAndSwap(false, true) {
						return coordinator.ErrCrash
					}
					return nil
				}}
				e := newTestEnv(t, strategy, hooks)
				ctx := context.Background()
				first := e.stage(coordinator.Upload{ID: "first", User: "dan", Path: "x/y.txt", Base: 0, Device: "a"}, content(1))
				if err := e.c.HandleEvent(ctx, first); err != nil {
					t.Fatal(err)
				}
				edit := e.stage(coordinator.Upload{ID: "edit", User: "dan", Path: "x/y.txt", Base: 1, Device: "a"},
					[]byte(strings.Repeat("a longer edit ", 40)))
				loser := e.stage(coordinator.Upload{ID: "loser", User: "dan", Path: "x/y.txt", Base: 0, Device: "b"}, content(3))
				for _, ev := range []events.S3Event{edit, loser} {
					// A loser passes no commit step, so it may not crash.
					if err := e.c.HandleEvent(ctx, ev); err != nil && !errors.Is(err, coordinator.ErrCrash) {
						t.Fatalf("first invocation: %v, want the injected crash or none", err)
					}
					e.mr.FastForward(6 * time.Second) // a crashed holder's lock expires
				}
				if !crashed["edit"].Load() {
					t.Fatalf("the edit never crashed at %s", step)
				}
				for range 3 { // the retry, then two duplicate deliveries
					for _, ev := range []events.S3Event{edit, loser} {
						if err := e.c.HandleEvent(ctx, ev); err != nil {
							t.Fatalf("retry: %v", err)
						}
					}
				}
				if r := e.result("dan", "loser"); r.State != coordinator.StateConflict {
					t.Fatalf("loser = %+v, want conflict", r)
				}
				for _, bad := range e.checkMeter("dan") {
					t.Error(bad)
				}
				if n := len(e.usage("dan")); n != 3 {
					t.Errorf("%d usage events, want 3 (two commits, one copy)", n)
				}
			})
		}
	}
}

// TestMeter_CopyRemeteredOnRetry_Caught: the double-billing mutant (the
// conflicted-copy script meters again when a retry reuses the reserved
// name) leaves the meter above storage and one upload metered twice, and
// checkMeter says so: the check above can fail.
func TestMeter_CopyRemeteredOnRetry_Caught(t *testing.T) {
	var crashed atomic.Bool
	hooks := &coordinator.Hooks{
		Step: func(ctx context.Context, id, s string) error {
			if s == coordinator.StepAfterCopy && id == "loser" && crashed.CompareAndSwap(false, true) {
				return coordinator.ErrCrash
			}
			return nil
		},
		Script: func(name, src string) string {
			if name != coordinator.ScriptCopyName {
				return src
			}
			// The double-billing mutant of sim's self-test: the meter call
			// without its guard.
			src = strings.Replace(src, "if new then meter(", "meter(", 1)
			return strings.Replace(src, "ARGV[9]) end\nreturn name", "ARGV[9])\nreturn name", 1)
		},
	}
	e := newTestEnv(t, coordinator.StrategyRedisLock, hooks)
	ctx := context.Background()
	if err := e.c.HandleEvent(ctx, e.stage(coordinator.Upload{ID: "first", User: "dan", Path: "a.txt", Device: "a"}, content(1))); err != nil {
		t.Fatal(err)
	}
	loser := e.stage(coordinator.Upload{ID: "loser", User: "dan", Path: "a.txt", Device: "b"}, content(2))
	if err := e.c.HandleEvent(ctx, loser); !errors.Is(err, coordinator.ErrCrash) {
		t.Fatalf("first invocation: %v, want the injected crash", err)
	}
	e.mr.FastForward(6 * time.Second)
	if err := e.c.HandleEvent(ctx, loser); err != nil {
		t.Fatal(err)
	}
	bad := strings.Join(e.checkMeter("dan"), "; ")
	if !strings.Contains(bad, "metered twice") || !strings.Contains(bad, "stored") {
		t.Errorf("a copy metered twice went unseen: %q", bad)
	}
}

// TestMeter_ExpiredCommitRecord_MeteredOnce: with s3-conditional, every
// handler records the head it reads; after the head's commit record
// expired, a later upload records it again, and the per-file guard keeps
// the meter from counting it twice.
func TestMeter_ExpiredCommitRecord_MeteredOnce(t *testing.T) {
	e := newTestEnv(t, coordinator.StrategyS3Conditional, nil)
	ctx := context.Background()
	if err := e.c.HandleEvent(ctx, e.stage(coordinator.Upload{ID: "v1", User: "eve", Path: "a.txt", Device: "a"}, content(1))); err != nil {
		t.Fatal(err)
	}
	e.mr.FastForward(25 * time.Hour) // the commit record expires with the result
	late := e.stage(coordinator.Upload{ID: "late", User: "eve", Path: "a.txt", Base: 0, Device: "b"}, content(22))
	if err := e.c.HandleEvent(ctx, late); err != nil {
		t.Fatal(err)
	}
	for _, bad := range e.checkMeter("eve") {
		t.Error(bad)
	}
}

// TestMeter_Rejected_NothingMetered: an upload rejected for its content
// stores nothing and meters nothing.
func TestMeter_Rejected_NothingMetered(t *testing.T) {
	for _, strategy := range strategies {
		t.Run(string(strategy), func(t *testing.T) {
			e := newTestEnv(t, strategy, nil)
			u := coordinator.Upload{ID: "bad", User: "fay", Path: "a.txt", Device: "a", SHA256: sum(content(9))}
			if err := e.c.HandleEvent(context.Background(), e.stage(u, content(1))); err != nil {
				t.Fatal(err)
			}
			if m, err := e.c.Metered(context.Background(), "fay"); err != nil || m != 0 {
				t.Errorf("metered %d (%v), want 0", m, err)
			}
			if n := len(e.usage("fay")); n != 0 {
				t.Errorf("%d usage events, want none", n)
			}
		})
	}
}

func TestParseUsageEvent_Malformed(t *testing.T) {
	good := map[string]any{"upload": "u", "user": "a", "path": "p", "kind": "commit", "version": "1",
		"delta": "5", "bytes": "5", "seq": "1", "at": "1000"}
	if _, err := coordinator.ParseUsageEvent("1-0", good); err != nil {
		t.Fatalf("good event: %v", err)
	}
	tests := []struct{ name, field, value string }{
		{"no upload", "upload", ""},
		{"unknown kind", "kind", "refund"},
		{"delta not a number", "delta", "5.5"},
		{"no time", "at", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := map[string]any{}
			for k, x := range good {
				v[k] = x
			}
			v[tt.field] = tt.value
			if _, err := coordinator.ParseUsageEvent("1-0", v); err == nil {
				t.Errorf("%s=%q accepted", tt.field, tt.value)
			}
		})
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestMeter_UsageStreamMaxLen_Trims: with Config.UsageStreamMaxLen set,
// each strategy's usage stream keeps about that many of a user's newest
// events (Redis may keep a few more with MAXLEN ~; miniredis trims
// exactly), the sequence numbers run on past the trimmed ones, and the
// meter still equals what S3 stores.
func TestMeter_UsageStreamMaxLen_Trims(t *testing.T) {
	for _, strategy := range strategies {
		t.Run(string(strategy), func(t *testing.T) {
			e := newTestEnvOn(t, s3mem.New(), strategy, nil, func(c *coordinator.Config) { c.UsageStreamMaxLen = 5 })
			ctx := context.Background()
			for i := range 20 {
				ev := e.stage(coordinator.Upload{ID: "u" + strconv.Itoa(i), User: "dan", Path: "f" + strconv.Itoa(i) + ".txt", Device: "a"}, content(i))
				if err := e.c.HandleEvent(ctx, ev); err != nil {
					t.Fatal(err)
				}
			}
			evs := e.usage("dan")
			if len(evs) < 5 || len(evs) > 10 {
				t.Fatalf("%d usage events kept, want about 5", len(evs))
			}
			if last := evs[len(evs)-1]; last.Seq != 20 {
				t.Errorf("last event's sequence %d, want 20", last.Seq)
			}
			metered, err := e.c.Metered(ctx, "dan")
			if err != nil {
				t.Fatal(err)
			}
			if s := e.stored("dan"); metered != s || evs[len(evs)-1].Bytes != s {
				t.Errorf("metered %d, last event's total %d, stored %d", metered, evs[len(evs)-1].Bytes, s)
			}
		})
	}
}
