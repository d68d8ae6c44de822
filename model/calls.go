package model

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/redis/go-redis/v9"

	"github.com/stormsim/stormsim/coordinator"
)

// Outcomes of one handler invocation whose call sequences the model
// replays. The sequences are recorded from the real coordinator (Record),
// never written down here.
const (
	SeqCommit   = "commit"   // base == head: the upload wins
	SeqConflict = "conflict" // base != head: a conflicted copy
	SeqDone     = "done"     // a duplicate event after the result was written
	SeqGone     = "gone"     // a duplicate event after the staged object was deleted
)

// Call is one request the handler makes: "s3.get", "s3.copy",
// "redis.script.lock", "redis.get", ...
type Call string

// Sequences are the handler's calls per outcome, split where the model
// needs them: Prefix runs before the lock (and is the whole invocation
// for SeqGone), Lock is the lock script (retried while busy), and Tails
// run once the lock script answered, by outcome. Release is the call in a
// tail that frees the lock.
type Sequences struct {
	Prefix  []Call
	Lock    Call
	Tails   map[string][]Call
	Release map[string]int // index of the releasing call in each tail, -1: none
	Gone    []Call
}

// recorder records the calls of one coordinator: an ObjectStore wrapper
// and a go-redis hook.
type recorder struct {
	coordinator.ObjectStore
	scripts map[string]string // SHA1 -> script name

	mu    sync.Mutex
	calls []Call
	// timed, when not nil, collects each call's duration (Calibrate).
	timed map[Call][]time.Duration
}

func (r *recorder) add(c Call, began time.Time) {
	d := time.Since(began)
	r.mu.Lock()
	r.calls = append(r.calls, c)
	if r.timed != nil {
		r.timed[c] = append(r.timed[c], d)
	}
	r.mu.Unlock()
}

func (r *recorder) take() []Call {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.calls
	r.calls = nil
	return c
}

func (r *recorder) GetObject(ctx context.Context, in *s3.GetObjectInput, o ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	defer r.add("s3.get", time.Now())
	return r.ObjectStore.GetObject(ctx, in, o...)
}

func (r *recorder) HeadObject(ctx context.Context, in *s3.HeadObjectInput, o ...func(*s3.Options)) (*s3.HeadObjectOutput, error) {
	defer r.add("s3.head", time.Now())
	return r.ObjectStore.HeadObject(ctx, in, o...)
}

func (r *recorder) PutObject(ctx context.Context, in *s3.PutObjectInput, o ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	defer r.add("s3.put", time.Now())
	return r.ObjectStore.PutObject(ctx, in, o...)
}

func (r *recorder) CopyObject(ctx context.Context, in *s3.CopyObjectInput, o ...func(*s3.Options)) (*s3.CopyObjectOutput, error) {
	defer r.add("s3.copy", time.Now())
	return r.ObjectStore.CopyObject(ctx, in, o...)
}

func (r *recorder) DeleteObject(ctx context.Context, in *s3.DeleteObjectInput, o ...func(*s3.Options)) (*s3.DeleteObjectOutput, error) {
	defer r.add("s3.delete", time.Now())
	return r.ObjectStore.DeleteObject(ctx, in, o...)
}

// newRecorder wraps store and hooks rdb (for good: rdb should be the
// recording's own client).
func newRecorder(ctx context.Context, store coordinator.ObjectStore, rdb redis.UniversalClient) (*recorder, error) {
	rec := &recorder{ObjectStore: store, scripts: map[string]string{}}
	for _, name := range scriptNames {
		src, _ := coordinator.ScriptSource(name)
		rec.scripts[sha1hex(src)] = name
		// Loaded first, so EVALSHA never misses and the first run records
		// what every later one does.
		if err := rdb.ScriptLoad(ctx, src).Err(); err != nil {
			return nil, fmt.Errorf("record calls: load script %s: %w", name, err)
		}
	}
	rdb.AddHook(rec)
	return rec, nil
}

// redis hook: one call per command, scripts by name.
func (r *recorder) DialHook(next redis.DialHook) redis.DialHook { return next }
func (r *recorder) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		began := time.Now()
		err := next(ctx, cmds)
		for _, c := range cmds {
			r.add(r.callOf(c), began)
		}
		return err
	}
}
func (r *recorder) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		defer r.add(r.callOf(cmd), time.Now())
		return next(ctx, cmd)
	}
}

func (r *recorder) callOf(c redis.Cmder) Call {
	name := strings.ToLower(c.Name())
	args := c.Args()
	if (name == "evalsha" || name == "evalsha_ro") && len(args) > 1 {
		if s, ok := r.scripts[fmt.Sprint(args[1])]; ok {
			return Call("redis.script." + s)
		}
	}
	if (name == "eval" || name == "eval_ro") && len(args) > 1 {
		if s, ok := r.scripts[sha1hex(fmt.Sprint(args[1]))]; ok {
			return Call("redis.script." + s)
		}
	}
	return Call("redis." + name)
}

func sha1hex(s string) string {
	h := sha1.Sum([]byte(s))
	return hex.EncodeToString(h[:])
}

var scriptNames = []string{coordinator.ScriptLock, coordinator.ScriptCommit, coordinator.ScriptResult,
	coordinator.ScriptRelease, coordinator.ScriptCopyName, coordinator.ScriptCommitOnce}

// Record runs the real coordinator's HandleKey once per outcome against
// store and rdb (empty, in-process fakes: the caller's) with a recording
// store and Redis hook, and returns the calls each made. Only the
// redis-lock strategy is recorded.
func Record(ctx context.Context, store coordinator.ObjectStore, rdb redis.UniversalClient, bucket string) (*Sequences, error) {
	rec, err := newRecorder(ctx, store, rdb)
	if err != nil {
		return nil, err
	}
	var crash sync.Map // upload id -> step at which the handler stops once
	c, err := coordinator.New(coordinator.Config{Bucket: bucket, Prefix: "rec:", ObjectPrefix: "rec/", Now: time.Now,
		Hooks: &coordinator.Hooks{Step: func(_ context.Context, id, step string) error {
			if s, ok := crash.Load(id); ok && s == step {
				crash.Delete(id)
				return coordinator.ErrCrash
			}
			return nil
		}}}, rec, rdb)
	if err != nil {
		return nil, fmt.Errorf("record calls: %w", err)
	}
	stage := func(id string, base int64) (string, error) {
		body := []byte("recorded " + id)
		sum := sha256.Sum256(body)
		u := coordinator.Upload{ID: id, User: "rec", Path: "doc.txt", Base: base, Device: "dev", SHA256: hex.EncodeToString(sum[:])}
		key := c.StagingKey(u.User, u.ID)
		_, err := store.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: &key, Metadata: coordinator.Metadata(u),
			Body: strings.NewReader(string(body))})
		return key, err
	}
	run := func(id string, base int64) ([]Call, error) {
		key, err := stage(id, base)
		if err != nil {
			return nil, fmt.Errorf("record calls: stage %s: %w", id, err)
		}
		rec.take()
		if err := c.HandleKey(ctx, key); err != nil {
			return nil, fmt.Errorf("record calls: handle %s: %w", id, err)
		}
		return rec.take(), nil
	}
	seqs := map[string][]Call{}
	if seqs[SeqCommit], err = run("first", 0); err != nil { // a new file: head 0
		return nil, err
	}
	if seqs["commit-v2"], err = run("second", 1); err != nil { // on top of version 1
		return nil, err
	}
	if seqs[SeqConflict], err = run("stale", 1); err != nil { // head is 2 now
		return nil, err
	}
	if seqs[SeqGone], err = handleAgain(ctx, c, rec, "rec", "stale"); err != nil {
		return nil, err
	}
	// A duplicate that finds the result written but the staged object
	// still there: the first invocation stops after writing its result.
	crash.Store("dup", coordinator.StepAfterResult)
	key, err := stage("dup", 0)
	if err != nil {
		return nil, fmt.Errorf("record calls: stage dup: %w", err)
	}
	if err := c.HandleKey(ctx, key); !errors.Is(err, coordinator.ErrCrash) {
		return nil, fmt.Errorf("record calls: the first handling of dup should have stopped, got %v", err)
	}
	if seqs[SeqDone], err = handleAgain(ctx, c, rec, "rec", "dup"); err != nil {
		return nil, err
	}
	if !slices.Equal(seqs[SeqCommit], seqs["commit-v2"]) {
		return nil, fmt.Errorf("record calls: a commit on a new file (%v) and on version 1 (%v) differ: the model has one commit sequence", seqs[SeqCommit], seqs["commit-v2"])
	}
	return split(seqs)
}

func handleAgain(ctx context.Context, c *coordinator.Coordinator, rec *recorder, user, id string) ([]Call, error) {
	rec.take()
	if err := c.HandleKey(ctx, c.StagingKey(user, id)); err != nil {
		return nil, fmt.Errorf("record calls: handle %s again: %w", id, err)
	}
	return rec.take(), nil
}

// split cuts each sequence at the lock script; every sequence that takes
// the lock must share the calls before it.
func split(seqs map[string][]Call) (*Sequences, error) {
	const lock = Call("redis.script." + coordinator.ScriptLock)
	s := &Sequences{Lock: lock, Tails: map[string][]Call{}, Release: map[string]int{}, Gone: seqs[SeqGone]}
	for _, name := range []string{SeqCommit, SeqConflict, SeqDone} {
		calls := seqs[name]
		i := slices.Index(calls, lock)
		if i < 0 {
			return nil, fmt.Errorf("record calls: %s took no lock: %v", name, calls)
		}
		if s.Prefix == nil {
			s.Prefix = calls[:i]
		} else if !slices.Equal(s.Prefix, calls[:i]) {
			return nil, fmt.Errorf("record calls: %s starts %v, others %v", name, calls[:i], s.Prefix)
		}
		tail := calls[i+1:]
		s.Tails[name] = tail
		s.Release[name] = slices.IndexFunc(tail, func(c Call) bool {
			return c == "redis.script."+coordinator.ScriptResult || c == "redis.script."+coordinator.ScriptRelease
		})
	}
	if slices.Contains(s.Gone, lock) {
		return nil, fmt.Errorf("record calls: a duplicate after the cleanup took the lock: %v", s.Gone)
	}
	return s, nil
}
