package region_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/redis/go-redis/v9"

	"github.com/stormsim/stormsim/coordinator"
	"github.com/stormsim/stormsim/region"
)

const bucket = "bkt"

func newStore(t *testing.T) *s3.Client {
	t.Helper()
	srv := httptest.NewServer(gofakes3.New(s3mem.New(), gofakes3.WithoutVersioning(), gofakes3.WithLogger(gofakes3.DiscardLog())).Server())
	t.Cleanup(srv.Close)
	c := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), UsePathStyle: true,
		Credentials:                credentials.NewStaticCredentialsProvider("k", "s", ""),
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired})
	if _, err := c.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	return c
}

// home is a home region: its store and a real coordinator committing into it.
type home struct {
	store *s3.Client
	c     *coordinator.Coordinator
}

func newHome(t *testing.T) *home {
	t.Helper()
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	t.Cleanup(func() { rdb.Close() })
	st := newStore(t)
	c, err := coordinator.New(coordinator.Config{Bucket: bucket, Now: time.Now}, st, rdb)
	if err != nil {
		t.Fatal(err)
	}
	return &home{store: st, c: c}
}

func body(v int) []byte { return []byte(fmt.Sprintf("version %d of the file", v)) }

func sum(b []byte) string { h := sha256.Sum256(b); return hex.EncodeToString(h[:]) }

// commit stages and decides version v of user u1's path (base v-1) and
// returns the S3 event of its version key.
func (h *home) commit(t *testing.T, p string, v int) events.S3Event {
	t.Helper()
	u := coordinator.Upload{ID: fmt.Sprintf("up%d", v), User: "u1", Path: p, Base: int64(v - 1), Device: "d", SHA256: sum(body(v))}
	key := coordinator.StagingKey(u.User, u.ID)
	ctx := context.Background()
	if _, err := h.store.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: &key,
		Body: bytes.NewReader(body(v)), Metadata: coordinator.Metadata(u)}); err != nil {
		t.Fatal(err)
	}
	if err := h.c.HandleEvent(ctx, event(key)); err != nil {
		t.Fatal(err)
	}
	return event(h.c.VersionKey(u.User, p, int64(v)))
}

func event(key string) events.S3Event {
	return events.S3Event{Records: []events.S3EventRecord{{EventName: "ObjectCreated:Copy",
		S3: events.S3Entity{Bucket: events.S3Bucket{Name: bucket}, Object: events.S3Object{Key: key}}}}}
}

// recorder records outcomes and notifications.
type recorder struct {
	mu       sync.Mutex
	applied  []region.Applied
	notified []string
}

func (r *recorder) Replicated(a region.Applied) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.applied = append(r.applied, a)
}

func (r *recorder) publisher(name string) region.Publisher {
	return region.PublishFunc(func(_ context.Context, ch string, msg []byte) error {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.notified = append(r.notified, name+" "+ch+" "+string(msg))
		return nil
	})
}

func (r *recorder) outcomes() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, a := range r.applied {
		out = append(out, fmt.Sprintf("%s v%d %s", a.Region, a.Event.Version, a.Outcome))
	}
	return out
}

func read(t *testing.T, st *s3.Client, key string) (string, []byte) {
	t.Helper()
	out, err := st.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: &key})
	if err != nil {
		t.Fatalf("read %s: %v", key, err)
	}
	defer out.Body.Close()
	b, _ := io.ReadAll(out.Body)
	return out.Metadata[coordinator.MetaVersion], b
}

func noSleep(context.Context, time.Duration) error { return nil }

func newReplicator(t *testing.T, h *home, rec *recorder, hooks *region.Hooks, targets ...region.Target) *region.Replicator {
	t.Helper()
	r, err := region.New(region.Config{Home: "eu", Source: h.store, Bucket: bucket, Now: time.Now,
		Sleep: noSleep, Observer: rec, Hooks: hooks}, targets)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestReplicator_Handle_CopiesToEveryRegion(t *testing.T) {
	h := newHome(t)
	us, ap := newStore(t), newStore(t)
	rec := &recorder{}
	r := newReplicator(t, h, rec, nil,
		region.Target{Name: "us", Store: us, Bucket: bucket, Notify: rec.publisher("us")},
		region.Target{Name: "ap", Store: ap, Bucket: bucket, Notify: rec.publisher("ap")})
	ev := h.commit(t, "docs/a b.txt", 1)
	if err := r.Handle(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	for _, st := range []*s3.Client{us, ap} {
		v, b := read(t, st, coordinator.FinalKey("u1", "docs/a b.txt"))
		if v != "1" || !bytes.Equal(b, body(1)) {
			t.Errorf("target holds v%s %q, want v1 %q", v, b, body(1))
		}
	}
	if len(rec.notified) != 2 {
		t.Errorf("notifications %v, want one per target", rec.notified)
	}
}

func TestReplicator_Handle_DuplicatedAndReordered(t *testing.T) {
	for _, tc := range []struct {
		name    string
		guardOn bool
		want    []string
		wantV   string
	}{
		{"guarded", true, []string{"us v2 applied", "us v1 skipped", "us v2 skipped"}, "2"},
		{"newer-only-off", false, []string{"us v2 applied", "us v1 applied", "us v2 applied"}, "2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHome(t)
			us := newStore(t)
			rec := &recorder{}
			var hooks *region.Hooks
			if !tc.guardOn {
				hooks = &region.Hooks{Disabled: func(g string) bool { return g == region.GuardNewerOnly }}
			}
			r := newReplicator(t, h, rec, hooks, region.Target{Name: "us", Store: us, Bucket: bucket, Notify: rec.publisher("us")})
			v1, v2 := h.commit(t, "f", 1), h.commit(t, "f", 2)
			ctx := context.Background()
			for i, ev := range []events.S3Event{v2, v1} {
				if err := r.Handle(ctx, ev); err != nil {
					t.Fatal(err)
				}
				if i == 1 && !tc.guardOn {
					// The broken replicator now shows v1 after v2.
					if v, _ := read(t, us, coordinator.FinalKey("u1", "f")); v != "1" {
						t.Fatalf("without the guard the late v1 should overwrite v2, target holds v%s", v)
					}
				}
			}
			if err := r.Handle(ctx, v2); err != nil {
				t.Fatal(err)
			}
			if got := rec.outcomes(); fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("outcomes %v, want %v", got, tc.want)
			}
			if v, b := read(t, us, coordinator.FinalKey("u1", "f")); v != tc.wantV || !bytes.Equal(b, body(2)) {
				t.Errorf("target holds v%s %q", v, b)
			}
			wantNotes := 1
			if !tc.guardOn {
				wantNotes = 3
			}
			if len(rec.notified) != wantNotes {
				t.Errorf("%d notifications, want %d: %v", len(rec.notified), wantNotes, rec.notified)
			}
		})
	}
}

// flaky fails the first n PutObject calls with a 503-like error.
type flaky struct {
	*s3.Client
	n atomic.Int64
}

var errUnavailable = errors.New("region storage unavailable")

func (f *flaky) PutObject(ctx context.Context, in *s3.PutObjectInput, opts ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	if f.n.Add(-1) >= 0 {
		return nil, errUnavailable
	}
	return f.Client.PutObject(ctx, in, opts...)
}

func TestReplicator_Replicate_Retries(t *testing.T) {
	for _, tc := range []struct {
		name     string
		failures int64
		noRetry  bool
		want     string
	}{
		{"recovers", 3, false, region.OutcomeApplied},
		{"attempts-run-out", 10, false, region.OutcomeFailed},
		{"retry-off", 1, true, region.OutcomeFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHome(t)
			us := &flaky{Client: newStore(t)}
			us.n.Store(tc.failures)
			rec := &recorder{}
			var hooks *region.Hooks
			if tc.noRetry {
				hooks = &region.Hooks{Disabled: func(g string) bool { return g == region.GuardRetry }}
			}
			r := newReplicator(t, h, rec, hooks, region.Target{Name: "us", Store: us, Bucket: bucket})
			err := r.Handle(context.Background(), h.commit(t, "f", 1))
			if got := rec.outcomes(); len(got) != 1 || got[0] != "us v1 "+tc.want {
				t.Fatalf("outcomes %v, want us v1 %s", got, tc.want)
			}
			if (tc.want == region.OutcomeFailed) != errors.Is(err, errUnavailable) {
				t.Errorf("Handle error %v", err)
			}
		})
	}
}

func TestReplicator_Handle_IgnoresOtherKeys(t *testing.T) {
	h := newHome(t)
	us := newStore(t)
	rec := &recorder{}
	r := newReplicator(t, h, rec, nil, region.Target{Name: "us", Store: us, Bucket: bucket})
	for _, key := range []string{"staging/u1/x", coordinator.FinalKey("u1", "versions/a.txt")} {
		if err := r.Handle(context.Background(), event(key)); err != nil {
			t.Fatal(err)
		}
	}
	if len(rec.outcomes()) != 0 {
		t.Errorf("acted on a staging key: %v", rec.outcomes())
	}
}
