package coordinator_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/redis/go-redis/v9"

	"github.com/stormsim/stormsim/coordinator"
	"github.com/stormsim/stormsim/internal/testsrv"
)

// testEnv is gofakes3 and miniredis with real clients, and a recorder of
// the coordinator's decisions.
type testEnv struct {
	t      testing.TB
	mr     *miniredis.Miniredis
	s3     *s3.Client
	rdb    *redis.Client
	bucket string
	c      *coordinator.Coordinator

	mu        sync.Mutex
	decisions []coordinator.Decision
}

func (e *testEnv) Decided(d coordinator.Decision) {
	e.mu.Lock()
	e.decisions = append(e.decisions, d)
	e.mu.Unlock()
}

func (e *testEnv) decisionsFor(id string) []coordinator.Decision {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []coordinator.Decision
	for _, d := range e.decisions {
		if d.ID == id {
			out = append(out, d)
		}
	}
	return out
}

func newTestEnv(t testing.TB, strategy coordinator.Strategy, hooks *coordinator.Hooks) *testEnv {
	t.Helper()
	return newTestEnvOn(t, s3mem.New(), strategy, hooks)
}

// newTestEnvOn is newTestEnv with the fake S3 storing into backend.
// Each opt edits the coordinator's configuration before it is built.
func newTestEnvOn(t testing.TB, backend gofakes3.Backend, strategy coordinator.Strategy, hooks *coordinator.Hooks,
	opts ...func(*coordinator.Config)) *testEnv {
	t.Helper()
	mr := miniredis.RunT(t)
	client := testsrv.NewFakeS3(t, backend, nil, "test").Client
	e := &testEnv{t: t, mr: mr, s3: client, bucket: "test"}
	e.rdb = redis.NewClient(&redis.Options{Addr: mr.Addr(), PoolSize: 128})
	t.Cleanup(func() { e.rdb.Close() })
	cfg := coordinator.Config{Bucket: e.bucket, Strategy: strategy, Prefix: "t:", LockTTL: 5 * time.Second,
		LockWait: 30 * time.Second, Now: time.Now, Observer: e, Hooks: hooks}
	for _, o := range opts {
		o(&cfg)
	}
	c, err := coordinator.New(cfg, client, e.rdb)
	if err != nil {
		t.Fatal(err)
	}
	e.c = c
	return e
}

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// stage uploads content as a device would and returns the S3 event.
func (e *testEnv) stage(u coordinator.Upload, content []byte) events.S3Event {
	e.t.Helper()
	if u.SHA256 == "" {
		u.SHA256 = sum(content)
	}
	key := coordinator.StagingKey(u.User, u.ID)
	_, err := e.s3.PutObject(context.Background(), &s3.PutObjectInput{Bucket: &e.bucket, Key: &key,
		Body: bytes.NewReader(content), Metadata: coordinator.Metadata(u)})
	if err != nil {
		e.t.Fatal(err)
	}
	return s3Event(e.bucket, key)
}

func s3Event(bucket, key string) events.S3Event {
	return events.S3Event{Records: []events.S3EventRecord{{EventName: "ObjectCreated:Put", EventSource: "aws:s3",
		S3: events.S3Entity{Bucket: events.S3Bucket{Name: bucket}, Object: events.S3Object{Key: key}}}}}
}

// read returns an object's bytes, or nil when it does not exist.
func (e *testEnv) read(key string) []byte {
	out, err := e.s3.GetObject(context.Background(), &s3.GetObjectInput{Bucket: &e.bucket, Key: &key})
	if err != nil {
		return nil
	}
	defer out.Body.Close()
	b, _ := io.ReadAll(out.Body)
	return b
}

func (e *testEnv) keys(prefix string) []string {
	out, err := e.s3.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: &e.bucket, Prefix: &prefix})
	if err != nil {
		e.t.Fatal(err)
	}
	var ks []string
	for _, o := range out.Contents {
		ks = append(ks, aws.ToString(o.Key))
	}
	return ks
}

func (e *testEnv) result(user, id string) coordinator.Result {
	e.t.Helper()
	r, ok, err := e.c.Result(context.Background(), user, id)
	if err != nil || !ok {
		e.t.Fatalf("result of %s: ok=%v err=%v", id, ok, err)
	}
	return r
}

// pushes subscribes to a user's push channel and counts notifications per
// upload id.
func (e *testEnv) pushes(user string) (count func(id string) int, stop func()) {
	ps := e.rdb.Subscribe(context.Background(), e.c.PushChannel(user))
	if _, err := ps.Receive(context.Background()); err != nil {
		e.t.Fatal(err)
	}
	var mu sync.Mutex
	n := map[string]int{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m := range ps.Channel() {
			var id struct{ ID string }
			_ = jsonUnmarshal(m.Payload, &id)
			mu.Lock()
			n[id.ID]++
			mu.Unlock()
		}
	}()
	stop = func() { ps.Close(); <-done }
	count = func(id string) int {
		time.Sleep(50 * time.Millisecond) // let in-flight messages land
		mu.Lock()
		defer mu.Unlock()
		return n[id]
	}
	return count, stop
}

func content(i int) []byte { return []byte(fmt.Sprintf("content of upload %d: %064d", i, i)) }

func (e *testEnv) stageRaw(key string, meta map[string]string, body []byte) events.S3Event {
	e.t.Helper()
	_, err := e.s3.PutObject(context.Background(), &s3.PutObjectInput{Bucket: &e.bucket, Key: &key,
		Body: bytes.NewReader(body), Metadata: meta})
	if err != nil {
		e.t.Fatal(err)
	}
	return s3Event(e.bucket, key)
}

// pause holds a handler inside a Hooks.Step until the test resumes it.
type pause struct {
	reached chan struct{} // closed when a handler got there
	resume  chan struct{} // the test closes it to let the handler go on
}

func newPause() pause { return pause{reached: make(chan struct{}), resume: make(chan struct{})} }

// hold, called from the hook, tells the test and waits for resume. Only
// the first call holds; later ones (a retry) go straight on.
func (p pause) hold() {
	select {
	case <-p.reached:
		return
	default:
	}
	close(p.reached)
	<-p.resume
}

// handleAsync handles ev in its own goroutine; the channel gets its error.
func (e *testEnv) handleAsync(ctx context.Context, ev events.S3Event) <-chan error {
	errc := make(chan error, 1)
	go func() { errc <- e.c.HandleEvent(ctx, ev) }()
	return errc
}
