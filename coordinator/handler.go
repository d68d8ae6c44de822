package coordinator

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// Sentinel errors of an invocation; each makes Lambda retry the event.
var (
	// ErrFenced: the lock was lost (expired during a pause, or a failover)
	// and a newer holder exists; the commit was refused.
	ErrFenced = errors.New("commit refused: stale fencing token")
	// ErrCrash is what a fault hook returns to simulate a crash: the
	// invocation stops where it is and releases nothing.
	ErrCrash = errors.New("handler crashed")
)

// LockBusyError says who held the lock and for how much longer.
type LockBusyError struct {
	Key       string
	Remaining time.Duration
}

func (e *LockBusyError) Error() string {
	return fmt.Sprintf("lock %s busy for another %v", e.Key, e.Remaining)
}

// HandleEvent is the Lambda-style entry point for an S3 notification. Each
// record is handled on its own; the errors of all records are joined, and
// any error makes the platform retry the event (which is safe).
func (c *Coordinator) HandleEvent(ctx context.Context, ev events.S3Event) error {
	var errs []error
	for _, r := range ev.Records {
		if err := c.HandleRecord(ctx, r); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// HandleRecord handles one ObjectCreated record; other events are ignored.
func (c *Coordinator) HandleRecord(ctx context.Context, r events.S3EventRecord) error {
	if !strings.HasPrefix(r.EventName, "ObjectCreated") && !strings.HasPrefix(r.EventName, "s3:ObjectCreated") {
		return nil
	}
	if r.S3.Bucket.Name != "" && r.S3.Bucket.Name != c.cfg.Bucket {
		return nil
	}
	// Keys in S3 notifications are URL-encoded ("+" for space).
	key, err := url.QueryUnescape(r.S3.Object.Key)
	if err != nil {
		key = r.S3.Object.Key
	}
	return c.HandleKey(ctx, key)
}

// HandleKey processes the staged object at key.
func (c *Coordinator) HandleKey(ctx context.Context, key string) error {
	rest, ok := strings.CutPrefix(key, c.cfg.ObjectPrefix)
	if !ok {
		return nil // another tenant's object
	}
	user, id, err := ParseStagingKey(rest)
	if err != nil {
		return nil // not a staging key: not ours, and there is no id to answer
	}
	u, invalid, err := c.readStaged(ctx, user, id)
	if errors.Is(err, errNotFound) {
		// Gone: the upload was decided and cleaned up (a late duplicate), or
		// the event is spurious. Either way there is nothing left to do.
		return nil
	}
	if err != nil {
		return err
	}
	if invalid != nil {
		return c.reject(ctx, u, invalid.Error())
	}
	if err := c.step(ctx, id, StepAfterRead); err != nil {
		return err
	}
	if c.cfg.Strategy == StrategyS3Conditional {
		return c.handleConditional(ctx, u)
	}
	return c.handleLocked(ctx, u)
}

var errNotFound = errors.New("not found")

// readStaged reads the staged object's metadata and, unless configured
// otherwise, hashes its content against the declared SHA-256. invalid is
// the reason to reject the upload.
func (c *Coordinator) readStaged(ctx context.Context, user, id string) (u Upload, invalid, err error) {
	key := c.StagingKey(user, id)
	u = Upload{ID: id, User: user}
	var meta map[string]string
	var body io.ReadCloser
	if c.cfg.SkipContentCheck {
		out, herr := c.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &c.cfg.Bucket, Key: &key})
		if herr != nil {
			return u, nil, classify("head staged", herr)
		}
		meta, u.Size = out.Metadata, aws.ToInt64(out.ContentLength)
	} else {
		out, gerr := c.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: &c.cfg.Bucket, Key: &key})
		if gerr != nil {
			return u, nil, classify("get staged", gerr)
		}
		meta, u.Size, body = out.Metadata, aws.ToInt64(out.ContentLength), out.Body
		defer body.Close()
	}
	parsed, perr := parseMetadata(user, id, meta, c.guarded(GuardPathValidation))
	parsed.Size = u.Size
	if perr != nil {
		return parsed, perr, nil
	}
	if body != nil {
		h := sha256.New()
		buf := copyBufs.Get().(*[]byte)
		_, err := io.CopyBuffer(h, body, *buf)
		copyBufs.Put(buf)
		if err != nil {
			return parsed, nil, fmt.Errorf("read staged %s: %w", key, err)
		}
		if got := hex.EncodeToString(h.Sum(nil)); got != parsed.SHA256 {
			return parsed, fmt.Errorf("%w: content sha256 %s does not match declared %s", ErrInvalidUpload, got, parsed.SHA256), nil
		}
	}
	return parsed, nil, nil
}

// copyBufs recycle the buffers the content check reads through (io.Copy
// allocates 32 KiB per call when neither side brings its own: the
// largest allocation of a handler).
var copyBufs = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

func classify(op string, err error) error {
	if IsNotFound(err) {
		return errNotFound
	}
	return fmt.Errorf("%s: %w", op, err)
}

// IsNotFound reports whether err is S3 answering that the object does not
// exist: the SDK's typed errors, or the code alone (S3-compatible servers
// and HEAD requests differ in which they give).
func IsNotFound(err error) bool {
	var nsk *types.NoSuchKey
	var nf *types.NotFound
	if errors.As(err, &nsk) || errors.As(err, &nf) {
		return true
	}
	var api smithy.APIError
	return errors.As(err, &api) && (api.ErrorCode() == "NotFound" || api.ErrorCode() == "NoSuchKey")
}

// IsPreconditionFailed reports whether err is S3 refusing a conditional
// write (If-Match / If-None-Match): another writer got there first.
func IsPreconditionFailed(err error) bool {
	var api smithy.APIError
	if errors.As(err, &api) {
		switch api.ErrorCode() {
		case "PreconditionFailed", "ConditionalRequestConflict":
			return true
		}
	}
	return false
}

// reject answers an invalid upload; nothing is written under the final
// prefix.
func (c *Coordinator) reject(ctx context.Context, u Upload, reason string) error {
	res := Result{ID: u.ID, User: u.User, Path: u.Path, State: StateRejected, Base: u.Base,
		SHA256: u.SHA256, Reason: reason, DecidedAt: c.cfg.Now()}
	if _, err := c.writeResult(ctx, res, "", true); err != nil {
		return err
	}
	return c.deleteStaged(ctx, u)
}

// writeResult stores res (once), publishes it (once) and releases the lock
// held with token. A decision that becomes durable only here (conflict,
// reject) is reported to the observer.
func (c *Coordinator) writeResult(ctx context.Context, res Result, token string, observe bool) (bool, error) {
	n, err := c.writeResultHeld(ctx, res, token, false, observe)
	return n == resultNew, err
}

// What the result script answers.
const (
	resultLockLost = -1 // held was asked and token no longer holds the lock: nothing written
	resultExisted  = 0
	resultNew      = 1
)

// writeResultHeld is writeResult; with held it writes nothing unless
// token still holds the file's lock, and answers resultLockLost then.
func (c *Coordinator) writeResultHeld(ctx context.Context, res Result, token string, held, observe bool) (int, error) {
	doc, err := json.Marshal(res)
	if err != nil {
		return 0, fmt.Errorf("encode result: %w", err)
	}
	mode := "0"
	if held {
		mode = "1"
	}
	n, err := c.scripts.result.Run(ctx, c.rdb,
		[]string{c.resultKey(res.User, res.ID), c.lockKey(res.User, res.Path)},
		doc, token, c.resultTTLSeconds(), c.PushChannel(res.User), mode).Int()
	if err != nil {
		return 0, fmt.Errorf("write result %s: %w", res.ID, err)
	}
	if n == resultNew && observe {
		c.observe(Decision{Result: res})
	}
	return n, nil
}

func (c *Coordinator) deleteStaged(ctx context.Context, u Upload) error {
	key := c.StagingKey(u.User, u.ID)
	if _, err := c.s3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &c.cfg.Bucket, Key: &key}); err != nil {
		if errors.Is(classify("", err), errNotFound) {
			return nil
		}
		return fmt.Errorf("delete staged %s: %w", key, err)
	}
	return nil
}

// copyObject copies the staged object to dst, replacing its metadata.
func (c *Coordinator) copyObject(ctx context.Context, u Upload, dst string, meta map[string]string) error {
	return c.copyFrom(ctx, c.StagingKey(u.User, u.ID), dst, meta)
}

// copyFrom copies the object at key to dst, replacing its metadata.
func (c *Coordinator) copyFrom(ctx context.Context, key, dst string, meta map[string]string) error {
	src := c.cfg.Bucket + "/" + url.PathEscape(key)
	src = strings.ReplaceAll(src, "%2F", "/")
	_, err := c.s3.CopyObject(ctx, &s3.CopyObjectInput{
		Bucket: &c.cfg.Bucket, Key: &dst, CopySource: &src,
		Metadata: meta, MetadataDirective: types.MetadataDirectiveReplace,
	})
	if err != nil {
		return fmt.Errorf("copy %s to %s: %w", src, dst, classify("copy", err))
	}
	return nil
}

// finalMeta is the metadata of a committed final object.
func finalMeta(u Upload, version int64) map[string]string {
	return map[string]string{
		MetaVersion: strconv.FormatInt(version, 10),
		MetaUpload:  u.ID,
		MetaSHA256:  u.SHA256,
		MetaBase:    strconv.FormatInt(u.Base, 10),
		MetaDevice:  u.Device,
		// The path, so a reader of a version object (the cross-region
		// replicator, reacting to its ObjectCreated event) can name the
		// file: the version key holds only a hash of it.
		MetaPath: url.PathEscape(u.Path),
	}
}

// conflictCopy reserves the loser's conflicted-copy name (once per upload)
// and copies the staged bytes there.
func (c *Coordinator) conflictCopy(ctx context.Context, u Upload) (string, error) {
	full, ext := conflictParts(u.Path, u.Device, c.cfg.Now().UTC().Format("2006-01-02"))
	name, err := c.scripts.copyName.Run(ctx, c.rdb,
		[]string{c.copyKey(u.User, u.ID), c.copiesKey(u.User), c.meterKey(u.User), c.UsageStream(u.User)},
		full, ext, c.resultTTLSeconds(), u.Size, u.ID, u.User, u.Path, nanos(c.cfg.Now()), c.cfg.UsageStreamMaxLen).Text()
	if err != nil {
		return "", fmt.Errorf("reserve conflicted copy name: %w", err)
	}
	key := c.FinalKey(u.User, name)
	meta := map[string]string{MetaUpload: u.ID, MetaSHA256: u.SHA256, MetaBase: strconv.FormatInt(u.Base, 10), MetaDevice: u.Device}
	if err := c.copyObject(ctx, u, key, meta); err != nil {
		return "", err
	}
	return key, nil
}

func newToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// commitRecord encodes what a retry needs to rebuild a commit's result.
func commitRecord(version int64, at time.Time) string {
	return strconv.FormatInt(version, 10) + "|" + strconv.FormatInt(at.UnixNano(), 10)
}

func parseCommitRecord(s string) (int64, time.Time, bool) {
	ver, at, _, ok := parseCommitFence(s)
	return ver, at, ok
}

// parseCommitFence also returns the fence the redis-lock commit script
// appends ("version|at|fence"; 0 when absent).
func parseCommitFence(s string) (version int64, at time.Time, fence int64, ok bool) {
	f := strings.Split(s, "|")
	if len(f) != 2 && len(f) != 3 {
		return 0, time.Time{}, 0, false
	}
	ver, err1 := strconv.ParseInt(f[0], 10, 64)
	ns, err2 := strconv.ParseInt(f[1], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, time.Time{}, 0, false
	}
	if len(f) == 3 {
		if fence, err1 = strconv.ParseInt(f[2], 10, 64); err1 != nil {
			return 0, time.Time{}, 0, false
		}
	}
	return ver, time.Unix(0, ns).UTC(), fence, true
}
