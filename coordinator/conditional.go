package coordinator

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/redis/go-redis/v9"
)

// head is the final object's state as its metadata tells it.
type finalHead struct {
	exists  bool
	version int64
	upload  string
	sha256  string
	etag    string
	size    int64
}

func (c *Coordinator) readHead(ctx context.Context, u Upload) (finalHead, error) {
	key := c.FinalKey(u.User, u.Path)
	out, err := c.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &c.cfg.Bucket, Key: &key})
	if err != nil {
		if errors.Is(classify("", err), errNotFound) {
			return finalHead{}, nil
		}
		return finalHead{}, fmt.Errorf("head %s: %w", key, err)
	}
	h := finalHead{exists: true, etag: strings.TrimSpace(derefStr(out.ETag)), size: aws.ToInt64(out.ContentLength)}
	h.version, _ = strconv.ParseInt(metaGet(out.Metadata, MetaVersion), 10, 64)
	h.upload = metaGet(out.Metadata, MetaUpload)
	h.sha256 = metaGet(out.Metadata, MetaSHA256)
	return h, nil
}

// handleConditional is the s3-conditional strategy: the winner is whoever's
// conditional PUT on the final key succeeds.
func (c *Coordinator) handleConditional(ctx context.Context, u Upload) error {
	vals, err := c.rdb.MGet(ctx, c.resultKey(u.User, u.ID), c.commitKey(u.User, u.ID)).Result()
	if err != nil {
		return fmt.Errorf("read result %s: %w", u.ID, err)
	}
	if vals[0] != nil {
		return c.deleteStaged(ctx, u)
	}
	res := Result{ID: u.ID, User: u.User, Path: u.Path, Base: u.Base, SHA256: u.SHA256}
	if rec, ok := vals[1].(string); ok {
		v, at, ok := parseCommitRecord(rec)
		if !ok {
			return fmt.Errorf("commit record of %s is corrupt: %q", u.ID, rec)
		}
		res.State, res.Version, res.DecidedAt = StateCommitted, v, at
		return c.finishConditional(ctx, u, res, false)
	}
	for attempt := 0; ; attempt++ {
		h, err := c.readHead(ctx, u)
		if err != nil {
			return err
		}
		if h.exists && h.upload != "" {
			// Record the current head's commit: its own handler may have
			// crashed between its PUT and its commit record.
			if err := c.recordCommit(ctx, u.User, u.Path, h.upload, h.version, h.sha256, h.size); err != nil {
				return err
			}
			if h.upload == u.ID {
				rec, err := c.rdb.Get(ctx, c.commitKey(u.User, u.ID)).Result()
				if err != nil {
					return fmt.Errorf("read commit %s: %w", u.ID, err)
				}
				v, at, _ := parseCommitRecord(rec)
				res.State, res.Version, res.DecidedAt = StateCommitted, v, at
				return c.finishConditional(ctx, u, res, false)
			}
		}
		if attempt > 8 {
			return fmt.Errorf("put %s: head keeps changing under a matching base", u.ID)
		}
		if u.Base != h.version {
			key, err := c.conflictCopy(ctx, u)
			if err != nil {
				return err
			}
			res.State, res.Head, res.Copy, res.DecidedAt = StateConflict, h.version, key, c.cfg.Now()
			return c.finishConditional(ctx, u, res, true)
		}
		won, err := c.conditionalPut(ctx, u, h)
		if err != nil {
			return err
		}
		if !won {
			continue // lost the race: read the new head and answer conflict
		}
		if err := c.recordCommit(ctx, u.User, u.Path, u.ID, u.Base+1, u.SHA256, u.Size); err != nil {
			return err
		}
		rec, err := c.rdb.Get(ctx, c.commitKey(u.User, u.ID)).Result()
		if err != nil {
			return fmt.Errorf("read commit %s: %w", u.ID, err)
		}
		v, at, _ := parseCommitRecord(rec)
		res.State, res.Version, res.DecidedAt = StateCommitted, v, at
		if err := c.step(ctx, u.ID, StepAfterCommit); err != nil {
			return err
		}
		return c.finishConditional(ctx, u, res, false)
	}
}

func (c *Coordinator) finishConditional(ctx context.Context, u Upload, res Result, observe bool) error {
	if err := c.step(ctx, u.ID, StepAfterCopy); err != nil {
		return err
	}
	if _, err := c.writeResult(ctx, res, "", observe); err != nil {
		return err
	}
	if err := c.step(ctx, u.ID, StepAfterResult); err != nil {
		return err
	}
	return c.deleteStaged(ctx, u)
}

// conditionalPut streams the staged bytes to the final key, on condition
// that the head is still h. won is false when another upload got there first.
func (c *Coordinator) conditionalPut(ctx context.Context, u Upload, h finalHead) (won bool, err error) {
	src := c.StagingKey(u.User, u.ID)
	obj, err := c.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: &c.cfg.Bucket, Key: &src})
	if err != nil {
		return false, classify("get staged", err)
	}
	defer obj.Body.Close()
	dst := c.FinalKey(u.User, u.Path)
	in := &s3.PutObjectInput{
		Bucket: &c.cfg.Bucket, Key: &dst, Body: obj.Body, ContentLength: obj.ContentLength,
		Metadata: finalMeta(u, u.Base+1),
	}
	if h.exists {
		in.IfMatch = &h.etag
	} else {
		star := "*"
		in.IfNoneMatch = &star
	}
	// The body is a stream: sign it as UNSIGNED-PAYLOAD instead of hashing
	// it twice (the content was hashed and checked on the way in).
	_, err = c.s3.PutObject(ctx, in, s3.WithAPIOptions(v4.SwapComputePayloadSHA256ForUnsignedPayloadMiddleware))
	if err != nil {
		if IsPreconditionFailed(err) {
			return false, nil
		}
		return false, fmt.Errorf("put %s: %w", dst, err)
	}
	return true, nil
}

// recordCommit records (once) that upload became version of the file, of
// size bytes, meters it, and reports the decision to the observer when
// this call recorded it.
func (c *Coordinator) recordCommit(ctx context.Context, user, p, upload string, version int64, sha string, size int64) error {
	at := c.cfg.Now()
	n, err := c.scripts.commitOnce.Run(ctx, c.rdb,
		[]string{c.commitKey(user, upload), c.billedKey(user, p), c.meterKey(user), c.UsageStream(user)},
		commitRecord(version, at), c.resultTTLSeconds(), version, size, upload, user, p, nanos(at), c.cfg.UsageStreamMaxLen).Int()
	if err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("record commit %s: %w", upload, err)
	}
	if n == 1 {
		c.observe(Decision{Result: Result{ID: upload, User: user, Path: p, State: StateCommitted,
			Base: version - 1, Version: version, SHA256: sha, DecidedAt: at}})
	}
	return nil
}

func metaGet(meta map[string]string, k string) string {
	if v, ok := meta[k]; ok {
		return v
	}
	for mk, v := range meta {
		if strings.EqualFold(mk, k) {
			return v
		}
	}
	return ""
}

func derefStr(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
