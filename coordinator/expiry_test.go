package coordinator_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/stormsim/stormsim/coordinator"
	"github.com/stormsim/stormsim/internal/objstore"
)

// expiryMeterLine is the commit script's metering of an expired version;
// the self-test's expiry-not-metered mutant removes it.
const expiryMeterLine = "    meter(KEYS[4], KEYS[5], -tonumber(es), 'expire', ARGV[4], ARGV[10], ARGV[11], ev, ARGV[9], ARGV[12])\n"

// newKeepEnv is a redis-lock test environment on the copy-on-write store
// whose lifecycle rule keeps the newest keep versions per file, with the
// coordinator told the same bound.
func newKeepEnv(t *testing.T, keep int, hooks *coordinator.Hooks) (*testEnv, *objstore.Backend) {
	t.Helper()
	store := objstore.New(objstore.Options{Lifecycle: objstore.Lifecycle{Prefix: coordinator.VersionPrefix, Keep: keep}})
	e := newTestEnvOn(t, store, coordinator.StrategyRedisLock, hooks, func(c *coordinator.Config) { c.KeepVersions = keep })
	return e, store
}

// editSizes are the sizes of the successive versions of one file: they
// grow and shrink, so an expiry metered with the wrong version's size
// shows.
var editSizes = []int{100, 700, 40, 1300, 250, 9}

// runEdits commits len(editSizes) versions of one file of user, one after
// the other; each upload's first invocation may crash (crash decides),
// and is retried only after every version was handled, so a version's
// copy lands after newer versions' (out of version order). A loser on
// version 1 keeps a conflicted copy. Every upload is then delivered twice
// more.
// undecided says the crashes come before the decision: each upload is
// then retried at once, before the next version is staged on top of it.
func runEdits(t *testing.T, e *testEnv, user string, undecided bool) {
	t.Helper()
	ctx := context.Background()
	var evs []events.S3Event
	for i, n := range editSizes {
		ev := e.stage(coordinator.Upload{ID: fmt.Sprintf("v%d", i+1), User: user, Path: "doc.txt", Base: int64(i), Device: "a"},
			bytes.Repeat([]byte{byte('a' + i)}, n))
		if i == 2 {
			// A loser on version 1, handled between two commits.
			loser := e.stage(coordinator.Upload{ID: "loser", User: user, Path: "doc.txt", Base: 1, Device: "b"}, content(3))
			if err := e.c.HandleEvent(ctx, loser); err != nil && !errors.Is(err, coordinator.ErrCrash) {
				t.Fatalf("first invocation of the loser: %v, want the injected crash or none", err)
			}
			e.mr.FastForward(6 * time.Second)
			evs = append(evs, loser)
		}
		if err := e.c.HandleEvent(ctx, ev); err != nil && !errors.Is(err, coordinator.ErrCrash) {
			t.Fatalf("first invocation of v%d: %v, want the injected crash or none", i+1, err)
		}
		e.mr.FastForward(6 * time.Second) // a crashed holder's lock expires
		if undecided {
			// Crashed before its commit: the next version is based on
			// this one, so it must commit first.
			if err := e.c.HandleEvent(ctx, ev); err != nil {
				t.Fatalf("retry of v%d: %v", i+1, err)
			}
		}
		evs = append(evs, ev)
	}
	// The retries run newest first: an older retry finds the final object
	// short of the head, and repairs it from the head's version, which
	// must exist by then (its own retry makes it).
	slices.Reverse(evs)
	for range 3 { // the retries, then two duplicate deliveries
		for _, ev := range evs {
			if err := e.c.HandleEvent(ctx, ev); err != nil {
				t.Fatalf("retry: %v", err)
			}
		}
	}
}

// TestMeter_KeepVersions_CrashAtEveryStep_MeteredOnce: with a lifecycle
// rule keeping the newest 1 or 2 versions, every version's upload crashes
// once at one step and is retried out of order and delivered twice more;
// the meter ends equal to the bytes listed in S3 (expired versions gone
// from both), with one expire event per version pushed out.
func TestMeter_KeepVersions_CrashAtEveryStep_MeteredOnce(t *testing.T) {
	for _, keep := range []int{1, 2} {
		for _, step := range coordinator.Steps {
			t.Run(fmt.Sprintf("keep%d/%s", keep, step), func(t *testing.T) {
				var crashed sync.Map // upload id -> true once it crashed
				hooks := &coordinator.Hooks{Step: func(ctx context.Context, id, s string) error {
					if s != step {
						return nil
					}
					if _, again := crashed.LoadOrStore(id, true); !again {
						return coordinator.ErrCrash
					}
					return nil
				}}
				e, store := newKeepEnv(t, keep, hooks)
				runEdits(t, e, "kim", step == coordinator.StepAfterRead || step == coordinator.StepAfterLock)
				for _, bad := range e.checkMeter("kim") {
					t.Error(bad)
				}
				expired := 0
				for _, ev := range e.usage("kim") {
					if ev.Kind == coordinator.UsageExpire {
						expired++
						if want := -int64(editSizes[ev.Version-1]); ev.Delta != want {
							t.Errorf("expiry of version %d metered %d, want %d", ev.Version, ev.Delta, want)
						}
					}
				}
				if want := len(editSizes) - keep; expired != want {
					t.Errorf("%d expire events, want %d", expired, want)
				}
				if n := len(e.keys(coordinator.VersionPrefix + "kim/")); n != keep {
					t.Errorf("%d versions stored, want %d", n, keep)
				}
				if store.Stats().Pruned == 0 {
					t.Error("no version was pruned: the bound was not exercised")
				}
			})
		}
	}
}

// TestMeter_ExpiryNotMetered_Caught: without the expiry metering (the
// self-test's expiry-not-metered mutant, and the coordinator before
// KeepVersions existed) the meter stays above what S3 stores, and
// checkMeter says so: the check above can fail.
func TestMeter_ExpiryNotMetered_Caught(t *testing.T) {
	hooks := &coordinator.Hooks{Script: func(name, src string) string {
		if name != coordinator.ScriptCommit {
			return src
		}
		if !strings.Contains(src, expiryMeterLine) {
			t.Fatalf("the commit script no longer meters expiry with %q", expiryMeterLine)
		}
		return strings.Replace(src, expiryMeterLine, "", 1)
	}}
	e, _ := newKeepEnv(t, 2, hooks)
	runEdits(t, e, "kim", false)
	bad := strings.Join(e.checkMeter("kim"), "; ")
	if !strings.Contains(bad, "stored") {
		t.Errorf("expired versions left metered went unseen: %q", bad)
	}
}

// TestNew_NegativeKeepVersions_Refused: a negative bound is a
// configuration error, not "keep everything".
func TestNew_NegativeKeepVersions_Refused(t *testing.T) {
	_, err := coordinator.New(coordinator.Config{Bucket: "b", Now: time.Now, KeepVersions: -1}, nil, nil)
	if !errors.Is(err, coordinator.ErrConfig) {
		t.Errorf("New with KeepVersions -1: %v, want ErrConfig", err)
	}
}
