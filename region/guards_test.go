package region_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/stormsim/stormsim/coordinator"
	"github.com/stormsim/stormsim/region"
)

// off returns hooks that skip guard ("" : none).
func off(guard string) *region.Hooks {
	if guard == "" {
		return nil
	}
	return &region.Hooks{Disabled: func(g string) bool { return g == guard }}
}

// barrier holds the first n HeadObject calls until all n have read, so n
// copies of one file are in flight together, each having read the same
// state before any writes.
type barrier struct {
	*s3.Client
	mu      sync.Mutex
	n       int
	arrived chan struct{}
}

func newBarrier(c *s3.Client, n int) *barrier {
	return &barrier{Client: c, n: n, arrived: make(chan struct{})}
}

func (b *barrier) HeadObject(ctx context.Context, in *s3.HeadObjectInput, opts ...func(*s3.Options)) (*s3.HeadObjectOutput, error) {
	out, err := b.Client.HeadObject(ctx, in, opts...)
	b.mu.Lock()
	wait := b.n > 0
	if wait {
		if b.n--; b.n == 0 {
			close(b.arrived)
		}
	}
	b.mu.Unlock()
	if wait {
		select {
		case <-b.arrived:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return out, err
}

// Two deliveries of one event handled together: with the conditional
// write one copy wins and the other, refused (412), reads again and skips;
// without it both write and both are applied.
func TestReplicator_Handle_ConcurrentDuplicates(t *testing.T) {
	for _, tc := range []struct {
		name  string
		guard string
		want  []string
	}{
		{"guarded", "", []string{"us v1 applied", "us v1 skipped"}},
		{"conditional-write-off", region.GuardConditionalWrite, []string{"us v1 applied", "us v1 applied"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHome(t)
			us := newBarrier(newStore(t), 2)
			rec := &recorder{}
			r := newReplicator(t, h, rec, off(tc.guard), region.Target{Name: "us", Store: us, Bucket: bucket})
			ev := h.commit(t, "f", 1)
			var wg sync.WaitGroup
			errs := make([]error, 2)
			for i := range errs {
				wg.Go(func() { errs[i] = r.Handle(context.Background(), ev) })
			}
			wg.Wait()
			if err := errors.Join(errs...); err != nil {
				t.Fatal(err)
			}
			got := rec.outcomes()
			slices.Sort(got)
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("outcomes %v, want %v", got, tc.want)
			}
		})
	}
}

// The copy of v1, handled after home committed v2, carries v1's bytes;
// copying home's final key instead puts v2's bytes under v1's version and
// SHA-256 (the metadata right, the bytes not).
func TestReplicator_Handle_VersionSource(t *testing.T) {
	for _, tc := range []struct {
		name     string
		guard    string
		wantBody []byte
	}{
		{"guarded", "", body(1)},
		{"version-source-off", region.GuardVersionSource, body(2)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHome(t)
			us := newStore(t)
			r := newReplicator(t, h, &recorder{}, off(tc.guard), region.Target{Name: "us", Store: us, Bucket: bucket})
			v1 := h.commit(t, "f", 1)
			h.commit(t, "f", 2) // its event not delivered yet
			if err := r.Handle(context.Background(), v1); err != nil {
				t.Fatal(err)
			}
			key := coordinator.FinalKey("u1", "f")
			v, b := read(t, us, key)
			out, err := us.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: new(bucket), Key: &key})
			if err != nil {
				t.Fatal(err)
			}
			if v != "1" || out.Metadata[coordinator.MetaSHA256] != sum(body(1)) {
				t.Errorf("metadata v%s sha256 %.12s, want v1 sha256 %.12s", v, out.Metadata[coordinator.MetaSHA256], sum(body(1)))
			}
			if !bytes.Equal(b, tc.wantBody) {
				t.Errorf("bytes %q, want %q", b, tc.wantBody)
			}
		})
	}
}

// A notification goes out once the version is in the region: a device
// reading on it finds the version. Notified before the copy, it finds
// nothing yet.
func TestReplicator_Handle_NotifyAfterCopy(t *testing.T) {
	for _, tc := range []struct {
		name  string
		guard string
		want  string // what the region held when its devices were told
	}{
		{"guarded", "", "v1"},
		{"notify-after-copy-off", region.GuardNotifyAfterCopy, "nothing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHome(t)
			us := newStore(t)
			var seen []string
			notify := region.PublishFunc(func(ctx context.Context, _ string, _ []byte) error {
				key := coordinator.FinalKey("u1", "f")
				out, err := us.HeadObject(ctx, &s3.HeadObjectInput{Bucket: new(bucket), Key: &key})
				if err != nil {
					seen = append(seen, "nothing")
					return nil
				}
				seen = append(seen, "v"+out.Metadata[coordinator.MetaVersion])
				return nil
			})
			rec := &recorder{}
			r := newReplicator(t, h, rec, off(tc.guard), region.Target{Name: "us", Store: us, Bucket: bucket, Notify: notify})
			if err := r.Handle(context.Background(), h.commit(t, "f", 1)); err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(seen) != "["+tc.want+"]" {
				t.Errorf("devices told while the region held %v, want [%s]", seen, tc.want)
			}
		})
	}
}

// A version delivered twice is applied and announced once, the duplicate
// skipped; without notify-applied the duplicate is announced again,
// without notify nothing is.
func TestReplicator_Handle_NotifyOnce(t *testing.T) {
	for _, tc := range []struct {
		name  string
		guard string
		want  int
	}{
		{"guarded", "", 1},
		{"notify-applied-off", region.GuardNotifyApplied, 2},
		{"notify-off", region.GuardNotify, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHome(t)
			rec := &recorder{}
			r := newReplicator(t, h, rec, off(tc.guard), region.Target{Name: "us", Store: newStore(t), Bucket: bucket, Notify: rec.publisher("us")})
			ev := h.commit(t, "f", 1)
			for range 2 {
				if err := r.Handle(context.Background(), ev); err != nil {
					t.Fatal(err)
				}
			}
			if got := rec.outcomes(); fmt.Sprint(got) != "[us v1 applied us v1 skipped]" {
				t.Errorf("outcomes %v", got)
			}
			if len(rec.notified) != tc.want {
				t.Errorf("%d notifications, want %d: %v", len(rec.notified), tc.want, rec.notified)
			}
		})
	}
}

// Retries wait Backoff, doubled each time, up to MaxBackoff.
func TestReplicator_Replicate_BackoffDoubles(t *testing.T) {
	h := newHome(t)
	us := &flaky{Client: newStore(t)}
	us.n.Store(5)
	var waits []time.Duration
	sleep := func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }
	r, err := region.New(region.Config{Home: "eu", Source: h.store, Bucket: bucket, Now: time.Now, Sleep: sleep,
		Attempts: 6, Backoff: 100 * time.Millisecond, MaxBackoff: 300 * time.Millisecond},
		[]region.Target{{Name: "us", Store: us, Bucket: bucket}})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Handle(context.Background(), h.commit(t, "f", 1)); err != nil {
		t.Fatal(err)
	}
	ms := time.Millisecond
	if want := []time.Duration{100 * ms, 200 * ms, 300 * ms, 300 * ms, 300 * ms}; !slices.Equal(waits, want) {
		t.Errorf("waits %v, want %v", waits, want)
	}
}
