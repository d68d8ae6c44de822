package selftest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/redis/go-redis/v9"

	"github.com/stormsim/stormsim/coordinator"
	"github.com/stormsim/stormsim/internal/syncx"
	"github.com/stormsim/stormsim/sim/delivery"
	"github.com/stormsim/stormsim/sim/env"
)

// naive is a compact, deliberately plain re-implementation of the upload
// protocol over the coordinator's exported API and key layout, for the
// self-test. With every flag off it keeps every promise (a test proves it
// passes the invariants); each flag breaks exactly one promise, the way a
// plausible implementation would. It calls the coordinator's Hooks at the
// same steps, so a self-test's faults hit it exactly as they hit the real
// handler.
type naive struct {
	// noLock skips the lock: read the head, decide, write the head, with a
	// race window between the read and the write.
	noLock bool
	// noFence takes the lock but commits with a plain write, trusting the
	// lock to still be held (it is not, after a pause past the TTL).
	noFence bool
	// noDedupe never looks for an earlier decision (a result or commit
	// record): every delivery of an event decides again, and every decision
	// is pushed.
	noDedupe bool
	// overwrite dedupes only by looking for a stored result before it
	// locks (check, then act), and stores results with a plain SET: a
	// duplicate that slips past the check decides again and replaces the
	// stored result (and pushes it).
	overwrite bool
	// dropLoser names a conflicted copy in the result but never makes it.
	dropLoser bool
	// resultFirst stores and pushes the result (releasing the lock) before
	// the copy to the final key, which follows after copyDelay.
	resultFirst bool

	raceWindow time.Duration // noLock: between the head read and the write
	copyDelay  time.Duration // resultFirst: between the result and the copy
	// decideDelay (overwrite) holds the lock this long before deciding, so
	// a duplicate that slipped past the check, queued on the lock, stores
	// its answer at least this long after the first one was pushed: the
	// device has heard the first answer, and the read-back after the drain
	// shows the overwrite (without it the two land a millisecond apart).
	decideDelay time.Duration

	env *env.Env
	c   *coordinator.Coordinator
	cfg coordinator.Config
}

// wrap makes n the run's handler.
func (n naive) wrap(_ delivery.Handler, e *env.Env, c *coordinator.Coordinator) delivery.Handler {
	n.env, n.c, n.cfg = e, c, c.Config()
	return func(ctx context.Context, ev events.S3Event) error {
		var errs []error
		for _, rec := range ev.Records {
			key, err := url.QueryUnescape(rec.S3.Object.Key)
			if err != nil {
				key = rec.S3.Object.Key
			}
			if err := n.handle(ctx, key); err != nil {
				errs = append(errs, err)
			}
		}
		return errors.Join(errs...)
	}
}

func (n *naive) step(ctx context.Context, id, name string) error {
	if h := n.cfg.Hooks; h != nil && h.Step != nil {
		return h.Step(ctx, id, name)
	}
	return nil
}

func (n *naive) handle(ctx context.Context, key string) (err error) {
	rest, ok := strings.CutPrefix(key, n.cfg.ObjectPrefix)
	if !ok {
		return nil
	}
	user, id, err := coordinator.ParseStagingKey(rest)
	if err != nil {
		return nil
	}
	staged := n.c.StagingKey(user, id)
	head, err := n.env.S3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &n.cfg.Bucket, Key: &staged})
	if coordinator.IsNotFound(err) {
		return nil // decided and cleaned up already
	}
	if err != nil {
		return fmt.Errorf("head staged: %w", err)
	}
	u, err := coordinator.ParseMetadata(user, id, head.Metadata)
	if err != nil {
		return fmt.Errorf("naive handler: %w", err) // the harness's devices never send bad metadata
	}
	u.Size = aws.ToInt64(head.ContentLength)
	k := n.c.KeysFor(user, u.Path, id)
	if err := n.step(ctx, id, coordinator.StepAfterRead); err != nil {
		return err
	}
	if n.overwrite {
		if exists, err := n.env.Redis.Exists(ctx, k.Result).Result(); err != nil || exists == 1 {
			return n.finish(ctx, staged, err)
		}
	}
	token, fence, done, err := n.lock(ctx, k, u)
	if err != nil {
		return err
	}
	if done {
		return n.finish(ctx, staged, nil)
	}
	defer func() {
		if err != nil && !errors.Is(err, coordinator.ErrCrash) && token != "" {
			_ = naiveRelease.Run(context.WithoutCancel(ctx), n.env.Redis, []string{k.Lock}, token).Err()
		}
	}()
	// The head is read right after taking the lock, as the real lock
	// script does; a pause at the next step then holds a stale view.
	hv, err := n.env.Redis.HMGet(ctx, k.Head, "v", "id").Result()
	if err != nil {
		return fmt.Errorf("read head: %w", err)
	}
	headV, _ := strconv.ParseInt(str(hv[0]), 10, 64)
	headID := str(hv[1])
	record := ""
	if !n.noDedupe && !n.overwrite {
		if record, err = n.env.Redis.Get(ctx, k.Commit).Result(); err != nil && !errors.Is(err, redis.Nil) {
			return fmt.Errorf("read commit record: %w", err)
		}
	}
	if err := n.step(ctx, id, coordinator.StepAfterLock); err != nil {
		return err
	}
	syncx.Sleep(ctx, n.decideDelay)
	res := coordinator.Result{ID: id, User: user, Path: u.Path, Base: u.Base, SHA256: u.SHA256}
	final := n.c.FinalKey(user, u.Path)
	switch {
	case record != "":
		// A retry after the commit: rebuild the result, finish the copy.
		v, at, _ := strings.Cut(record, "|")
		res.State = coordinator.StateCommitted
		res.Version, _ = strconv.ParseInt(v, 10, 64)
		ns, _ := strconv.ParseInt(at, 10, 64)
		res.DecidedAt = time.Unix(0, ns).UTC()
		if headID == id {
			if err := n.copy(ctx, staged, final, finalMeta(u, res.Version)); err != nil {
				return err
			}
		}
	case u.Base == headV:
		if n.noLock {
			syncx.Sleep(ctx, n.raceWindow) // the read-decide-write window
		}
		if err := n.commit(ctx, u, k, fence, &res); err != nil {
			return err
		}
		if err := n.step(ctx, id, coordinator.StepAfterCommit); err != nil {
			return err
		}
		if n.resultFirst {
			if err := n.result(ctx, k, token, res, false); err != nil {
				return err
			}
			token = "" // released with the result
			if err := n.step(ctx, id, coordinator.StepAfterResult); err != nil {
				return err
			}
			syncx.Sleep(ctx, n.copyDelay)
			if err := n.copy(ctx, staged, final, finalMeta(u, res.Version)); err != nil {
				return err
			}
			return n.finish(ctx, staged, n.step(ctx, id, coordinator.StepAfterCopy))
		}
		if err := n.copy(ctx, staged, final, finalMeta(u, res.Version)); err != nil {
			return err
		}
	default:
		name, err := n.copyName(ctx, u)
		if err != nil {
			return err
		}
		res.State, res.Head, res.Copy, res.DecidedAt = coordinator.StateConflict, headV, n.c.FinalKey(user, name), n.cfg.Now()
		if !n.dropLoser {
			meta := map[string]string{coordinator.MetaUpload: id, coordinator.MetaSHA256: u.SHA256}
			if err := n.copy(ctx, staged, res.Copy, meta); err != nil {
				return err
			}
		}
	}
	if err := n.step(ctx, id, coordinator.StepAfterCopy); err != nil {
		return err
	}
	if err := n.result(ctx, k, token, res, res.State == coordinator.StateConflict); err != nil {
		return err
	}
	token = ""
	if err := n.step(ctx, id, coordinator.StepAfterResult); err != nil {
		return err
	}
	return n.finish(ctx, staged, nil)
}

// lock takes the file's lock (unless noLock) and a fencing token; done
// reports an existing result (unless noDedupe).
func (n *naive) lock(ctx context.Context, k coordinator.Keys, u coordinator.Upload) (token string, fence int64, done bool, err error) {
	defer func() {
		// Tokens are recorded as issued, as the real handler's are.
		if o, ok := n.cfg.Observer.(coordinator.FenceObserver); ok && err == nil && !done {
			o.Fenced(coordinator.FenceIssued{User: u.User, Path: u.Path, UploadID: u.ID, Fence: fence, At: n.cfg.Now()})
		}
	}()
	check := "1"
	if n.noDedupe || n.overwrite {
		check = "0"
	}
	if n.noLock {
		// No lock; the token is still taken, so the history shows the race
		// itself rather than missing tokens.
		vals, err := naiveLock.Run(ctx, n.env.Redis, []string{k.Lock, k.Fence, k.Result}, "", 0, check).Slice()
		if err != nil {
			return "", 0, false, fmt.Errorf("fence: %w", err)
		}
		if vals[0] == "done" {
			return "", 0, true, nil
		}
		fence, _ = vals[1].(int64)
		return "", fence, false, nil
	}
	var b [16]byte
	_, _ = rand.Read(b[:])
	token = hex.EncodeToString(b[:])
	start := time.Now()
	for {
		vals, err := naiveLock.Run(ctx, n.env.Redis, []string{k.Lock, k.Fence, k.Result}, token, n.cfg.LockTTL.Milliseconds(), check).Slice()
		if err != nil {
			return "", 0, false, fmt.Errorf("take lock: %w", err)
		}
		switch vals[0] {
		case "done":
			return "", 0, true, nil
		case "ok":
			fence, _ = vals[1].(int64)
			return token, fence, false, nil
		}
		if time.Since(start) > n.cfg.LockWait {
			return "", 0, false, fmt.Errorf("lock %s busy", k.Lock)
		}
		syncx.Sleep(ctx, time.Millisecond)
		if ctx.Err() != nil {
			return "", 0, false, ctx.Err()
		}
	}
}

// commit makes u the head: fenced and compare-and-set, unless noLock or
// noFence make it a plain write.
func (n *naive) commit(ctx context.Context, u coordinator.Upload, k coordinator.Keys, fence int64, res *coordinator.Result) error {
	at := n.cfg.Now()
	version := u.Base + 1
	record := strconv.FormatInt(version, 10) + "|" + strconv.FormatInt(at.UnixNano(), 10)
	if n.noLock || n.noFence {
		_, err := n.env.Redis.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.HSet(ctx, k.Head, "v", version, "id", u.ID, "sha", u.SHA256)
			p.Set(ctx, k.Commit, record, 0)
			return nil
		})
		if err != nil {
			return fmt.Errorf("commit %s: %w", u.ID, err)
		}
	} else {
		r, err := naiveCommit.Run(ctx, n.env.Redis, []string{k.Fence, k.Head, k.Commit},
			fence, u.Base, version, u.ID, u.SHA256, record).Text()
		if err != nil {
			return fmt.Errorf("commit %s: %w", u.ID, err)
		}
		if r != "ok" {
			return fmt.Errorf("%w (%s: %s)", coordinator.ErrFenced, u.ID, r)
		}
	}
	res.State, res.Version, res.DecidedAt = coordinator.StateCommitted, version, at
	if o := n.cfg.Observer; o != nil {
		o.Decided(coordinator.Decision{Result: *res, Fence: fence})
	}
	return nil
}

// result stores and pushes res and releases the lock held with token.
// observe reports the decision when it is new (a conflict becomes durable
// here; a commit became durable at the head write).
func (n *naive) result(ctx context.Context, k coordinator.Keys, token string, res coordinator.Result, observe bool) error {
	doc, err := json.Marshal(res)
	if err != nil {
		return fmt.Errorf("encode result: %w", err)
	}
	mode := "once"
	switch {
	case n.overwrite:
		mode = "overwrite"
	case n.noDedupe:
		mode = "push-always"
	}
	ttl := int64(n.cfg.ResultTTL / time.Second)
	isNew, err := naiveResult.Run(ctx, n.env.Redis, []string{k.Result, k.Lock}, doc, token, ttl,
		n.c.PushChannel(res.User), mode).Int()
	if err != nil {
		return fmt.Errorf("write result %s: %w", res.ID, err)
	}
	if isNew == 1 && observe {
		if o := n.cfg.Observer; o != nil {
			o.Decided(coordinator.Decision{Result: res})
		}
	}
	return nil
}
