package coordinator

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/redis/go-redis/v9"
)

// lease is a held lock for one file.
type lease struct {
	token     string
	fence     int64
	head      int64
	headID    string // the head's upload and SHA-256 when the lock was taken
	headSHA   string
	committed string // the commit record when this upload already committed
	at        time.Time
}

// handleLocked is the redis-lock strategy (see the package comment).
func (c *Coordinator) handleLocked(ctx context.Context, u Upload) (err error) {
	l, done, err := c.acquire(ctx, u)
	if err != nil {
		return err
	}
	if done {
		return c.deleteStaged(ctx, u)
	}
	defer func() {
		// A crash leaves the lock to expire; any other failure frees it so
		// the retry need not wait out the TTL.
		if err != nil && !errors.Is(err, ErrCrash) {
			_ = c.scripts.release.Run(context.WithoutCancel(ctx), c.rdb, []string{c.lockKey(u.User, u.Path)}, l.token).Err()
		}
		// The staged object outlives a failed invocation: the retry needs
		// it to make the winner's copies (GuardStagedKept).
		if err != nil && !c.guarded(GuardStagedKept) {
			_ = c.deleteStaged(context.WithoutCancel(ctx), u)
		}
	}()
	if err := c.step(ctx, u.ID, StepAfterLock); err != nil {
		return err
	}
	res := Result{ID: u.ID, User: u.User, Path: u.Path, Base: u.Base, SHA256: u.SHA256}
	observeResult := false
	copiedFinal := false // this handler copied to the final key: the result checks it still holds the lock
	switch {
	case l.committed != "":
		// A retry after the commit: the decision stands. Keep this version,
		// then make the final object the head's bytes (this upload's, or a
		// later one's if this upload's copy may have buried it).
		v, at, ok := parseCommitRecord(l.committed)
		if !ok {
			return fmt.Errorf("commit record of %s is corrupt: %q", u.ID, l.committed)
		}
		res.State, res.Version, res.DecidedAt = StateCommitted, v, at
		if err := c.copyObject(ctx, u, c.VersionKey(u.User, u.Path, v), finalMeta(u, v)); err != nil {
			return err
		}
		// l.head is the head when the lock was taken; if the lock was lost
		// since (a pause), a newer winner may have copied before the copy
		// below buried it, and only a fresh head repairs that (settle, in
		// finish).
		if err := c.ensureFinal(ctx, u, l); err != nil && !c.headMoved(ctx, u, l, err) {
			return err
		}
		copiedFinal = true
	case u.Base == l.head:
		if err := c.commit(ctx, u, l, &res); err != nil {
			return err
		}
		if err := c.step(ctx, u.ID, StepAfterCommit); err != nil {
			return err
		}
		if err := c.copyObject(ctx, u, c.VersionKey(u.User, u.Path, res.Version), finalMeta(u, res.Version)); err != nil {
			return err
		}
		if err := c.copyObject(ctx, u, c.FinalKey(u.User, u.Path), finalMeta(u, res.Version)); err != nil {
			return err
		}
		copiedFinal = true
	default:
		key, err := c.conflictCopy(ctx, u)
		if err != nil {
			return err
		}
		res.State, res.Head, res.Copy, res.DecidedAt = StateConflict, l.head, key, c.cfg.Now()
		observeResult = true
	}
	if err := c.step(ctx, u.ID, StepAfterCopy); err != nil {
		return err
	}
	if err := c.finish(ctx, u, l, res, copiedFinal, observeResult); err != nil {
		return err
	}
	if err := c.step(ctx, u.ID, StepAfterResult); err != nil {
		return err
	}
	return c.deleteStaged(ctx, u)
}

// LockRetryFirst is the wait before a handler tries a busy lock again;
// each further wait is LockRetryNext of the one before. Exported for the
// capacity model (model/), which plays the same schedule in virtual time.
const LockRetryFirst = time.Millisecond

// LockRetryNext is the wait after wait at a busy lock: doubling, at most
// 50ms.
func LockRetryNext(wait time.Duration) time.Duration { return min(wait*2, 50*time.Millisecond) }

// acquire takes the file's lock, waiting up to LockWait for a busy one.
// done reports that the upload already has a result.
func (c *Coordinator) acquire(ctx context.Context, u Upload) (l lease, done bool, err error) {
	return c.acquireLock(ctx, u, false)
}

// acquireLock is acquire; with repair it takes the lock even when the
// upload already has a result (done is then always false).
func (c *Coordinator) acquireLock(ctx context.Context, u Upload, repair bool) (l lease, done bool, err error) {
	mode := "0"
	if repair {
		mode = "1"
	}
	keys := []string{c.lockKey(u.User, u.Path), c.fenceKey(u.User, u.Path), c.headKey(u.User, u.Path),
		c.resultKey(u.User, u.ID), c.commitKey(u.User, u.ID)}
	l.token = newToken()
	ttl := strconv.FormatInt(c.cfg.LockTTL.Milliseconds(), 10)
	start := c.cfg.Now()
	wait := LockRetryFirst
	for {
		l.at = c.cfg.Now()
		vals, err := c.scripts.lock.Run(ctx, c.rdb, keys, l.token, ttl, mode).Slice()
		if err != nil {
			return l, false, fmt.Errorf("take lock %s: %w", keys[0], err)
		}
		switch vals[0] {
		case "done":
			return l, true, nil
		case "ok":
			l.fence, _ = vals[1].(int64)
			l.head, _ = strconv.ParseInt(fmt.Sprint(vals[2]), 10, 64)
			l.headID, _ = vals[3].(string)
			l.committed, _ = vals[4].(string)
			l.headSHA, _ = vals[5].(string)
			c.observeFence(u, l.fence)
			return l, false, nil
		}
		pttl, _ := vals[1].(int64)
		if c.cfg.Now().Sub(start) >= c.cfg.LockWait {
			return l, false, &LockBusyError{Key: keys[0], Remaining: time.Duration(pttl) * time.Millisecond}
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return l, false, ctx.Err()
		case <-t.C:
		}
		wait = LockRetryNext(wait)
	}
}

// commit makes u the head, fenced by the lease's token.
func (c *Coordinator) commit(ctx context.Context, u Upload, l lease, res *Result) error {
	at := c.cfg.Now()
	version := l.head + 1
	r, err := c.scripts.commit.Run(ctx, c.rdb,
		[]string{c.fenceKey(u.User, u.Path), c.headKey(u.User, u.Path), c.commitKey(u.User, u.ID),
			c.meterKey(u.User), c.UsageStream(u.User)},
		l.fence, u.Base, version, u.ID, u.SHA256, commitRecord(version, at), c.resultTTLSeconds(),
		u.Size, nanos(at), u.User, u.Path, c.cfg.UsageStreamMaxLen, c.cfg.KeepVersions).Text()
	if err != nil {
		return fmt.Errorf("commit %s: %w", u.ID, err)
	}
	if r != "ok" {
		return fmt.Errorf("%w (%s: fence %d, %s)", ErrFenced, u.ID, l.fence, r)
	}
	res.State, res.Version, res.DecidedAt = StateCommitted, version, at
	c.observe(Decision{Result: *res, Fence: l.fence})
	return nil
}

// finish writes the result (once), publishes it and releases the lock,
// in one script. After a copy to the final key (copiedFinal) it first
// settles that copy. An S3 copy cannot be fenced: if this handler lost its
// lock (expired during a pause, or a failover), a later winner may have
// committed and copied first, and this late copy then buried the newer
// bytes. So the result script writes nothing unless this handler still
// holds its lock, which proves no one else committed meanwhile (tokens are
// never reused). Otherwise the handler takes the lock again, repairs the
// final object from the head's immutable version, and writes the result
// under the new lock, which the same script releases. Every writer settles
// after its own copy, so the last copy to land is always followed by a
// check. The repair takes the lock even when the upload already has a
// result: a duplicate delivery of this upload may have answered while this
// handler paused, and the late copy still needs repairing.
func (c *Coordinator) finish(ctx context.Context, u Upload, l lease, res Result, copiedFinal, observe bool) error {
	settle := copiedFinal && c.guarded(GuardLateCopyRepair)
	n, err := c.writeResultHeld(ctx, res, l.token, settle, observe)
	if err != nil || n != resultLockLost {
		return err
	}
	l2, _, err := c.acquireLock(ctx, u, true)
	if err != nil {
		return fmt.Errorf("settle %s: %w", u.ID, err)
	}
	if err := c.ensureFinal(ctx, u, l2); err != nil {
		_ = c.scripts.release.Run(context.WithoutCancel(ctx), c.rdb, []string{c.lockKey(u.User, u.Path)}, l2.token).Err()
		return err
	}
	_, err = c.writeResultHeld(ctx, res, l2.token, false, observe)
	return err
}

// headMoved reports whether err, from ensureFinal with the head read at
// lock time, means only that that version is gone because newer ones were
// committed: the source was not found and this handler no longer holds its
// lock. A bucket lifecycle rule may keep only the newest versions of a
// file, so a stale head's version can be gone; settle then repairs from
// the fresh head. While the lock is held the head cannot have moved, and a
// missing version is an error as before.
func (c *Coordinator) headMoved(ctx context.Context, u Upload, l lease, err error) bool {
	if !errors.Is(err, errNotFound) || !c.guarded(GuardLateCopyRepair) {
		return false
	}
	holder, gerr := c.rdb.Get(ctx, c.lockKey(u.User, u.Path)).Result()
	return errors.Is(gerr, redis.Nil) || gerr == nil && holder != l.token
}

// ensureFinal makes the final object hold the head version when l was
// taken, copying it from its immutable version key when the final object
// names another version. The caller holds (or held) the file's lock l.
func (c *Coordinator) ensureFinal(ctx context.Context, u Upload, l lease) error {
	head := l.head
	if head <= 0 {
		return nil
	}
	key := c.FinalKey(u.User, u.Path)
	out, err := c.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &c.cfg.Bucket, Key: &key})
	if err == nil && metaGet(out.Metadata, MetaVersion) == strconv.FormatInt(head, 10) {
		return nil
	}
	if err != nil && !errors.Is(classify("", err), errNotFound) {
		return fmt.Errorf("head %s: %w", key, err)
	}
	// The lock script read the head's upload and SHA-256 with its version.
	meta := map[string]string{MetaVersion: strconv.FormatInt(head, 10), MetaUpload: l.headID, MetaSHA256: l.headSHA,
		MetaBase: strconv.FormatInt(head-1, 10)}
	return c.copyFrom(ctx, c.VersionKey(u.User, u.Path, head), key, meta)
}
