package coordinator

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/redis/go-redis/v9"
)

// Strategy names how the winner of concurrent uploads of one file is
// decided. The spelling is the contract: the scenario's
// coordinator.strategy, the --strategy flags and results.json's strategy.
type Strategy string

// Strategies decide the winner of concurrent uploads of one file.
const (
	StrategyRedisLock     Strategy = "redis-lock"
	StrategyS3Conditional Strategy = "s3-conditional"
)

// Strategies lists every strategy, the default first.
var Strategies = []Strategy{StrategyRedisLock, StrategyS3Conditional}

// ObjectStore lists the S3 calls the coordinator makes; *s3.Client
// implements it.
type ObjectStore interface {
	GetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	HeadObject(ctx context.Context, in *s3.HeadObjectInput, opts ...func(*s3.Options)) (*s3.HeadObjectOutput, error)
	PutObject(ctx context.Context, in *s3.PutObjectInput, opts ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	CopyObject(ctx context.Context, in *s3.CopyObjectInput, opts ...func(*s3.Options)) (*s3.CopyObjectOutput, error)
	DeleteObject(ctx context.Context, in *s3.DeleteObjectInput, opts ...func(*s3.Options)) (*s3.DeleteObjectOutput, error)
}

var _ ObjectStore = (*s3.Client)(nil)

// Step names where Hooks.Step is called: between the handler's steps.
const (
	StepAfterRead   = "after-read"
	StepAfterLock   = "after-lock"
	StepAfterCommit = "after-commit"
	StepAfterCopy   = "after-copy"
	StepAfterResult = "after-result"
)

// Steps lists the step names in the order a winning upload passes them.
var Steps = []string{StepAfterRead, StepAfterLock, StepAfterCommit, StepAfterCopy, StepAfterResult}

// Observer learns each decision the moment it becomes durable. Production
// passes nil; the harness records decisions into its history.
type Observer interface {
	Decided(d Decision)
}

// FenceObserver is an optional capability of an Observer: it learns each
// fencing token the moment the lock script has issued it, so a history can
// show a commit made under a token that was no longer the latest.
type FenceObserver interface {
	Fenced(f FenceIssued)
}

// FenceIssued is one fencing token as issued with a lock.
type FenceIssued struct {
	User, Path, UploadID string
	Fence                int64
	// At is read after the lock script returned, so it is no earlier
	// than the token's issue; a commit refused by this token's issue has
	// its own time before its commit script ran, hence before At.
	At time.Time
}

// Decision is a durable server decision about one upload.
type Decision struct {
	Result
	Fence int64 // the fencing token of the commit (redis-lock strategy)
}

// Guards of the redis-lock strategy that live in Go (the others live in
// the Redis scripts; see ScriptLock and the names beside it). Hooks.Disabled
// names them.
const (
	// GuardLateCopyRepair: after its copy to the final key, a winner that
	// no longer holds its lock takes it again and repairs the final object
	// from the head's immutable version (finish, ensureFinal).
	GuardLateCopyRepair = "late-copy-repair"
	// GuardPathValidation: a staged upload whose path is not a clean
	// relative path is rejected (ValidatePath).
	GuardPathValidation = "path-validation"
	// GuardStagedKept: the staged object stays until the winner's copies
	// (its version and the final object) exist, so a retry after a crash
	// can still make them.
	GuardStagedKept = "staged-kept"
)

// Guards lists the Go-side guard names.
var Guards = []string{GuardLateCopyRepair, GuardPathValidation, GuardStagedKept}

// Hooks let a harness reach inside the handler without a second code path:
// inject faults between steps, and build deliberately broken variants of
// the real coordinator for its self-test. Every field is nil in
// production, and nil keeps the behaviour as built.
type Hooks struct {
	// Step runs between two handler steps; an error aborts the invocation
	// as a crash would (the event is retried).
	Step func(ctx context.Context, uploadID, step string) error
	// Script, when set, is called once per Redis script (ScriptLock, ...)
	// when the coordinator is built and returns the Lua source to use
	// instead of src (return src to keep it).
	Script func(name, src string) string
	// Disabled, when set, reports the Go-side guards (GuardLateCopyRepair,
	// ...) to skip.
	Disabled func(guard string) bool
}

// Config configures a Coordinator.
type Config struct {
	Bucket   string
	Strategy Strategy // StrategyRedisLock (default) or StrategyS3Conditional
	// Prefix starts every Redis key and channel, so runs can share a server.
	Prefix string
	// ObjectPrefix starts every S3 key the coordinator reads or writes
	// (ObjectPrefix+"staging/...", ObjectPrefix+"files/..."), so runs can
	// share a bucket; "" or ending in "/". Staging keys outside it are
	// ignored.
	ObjectPrefix string
	// LockTTL bounds how long a lock outlives a crashed holder (default 10s).
	LockTTL time.Duration
	// LockWait is how long the handler waits for a busy lock before it fails
	// the invocation so Lambda retries it (default 2*LockTTL).
	LockWait time.Duration
	// ResultTTL is how long results stay queryable (default 24h, at least
	// 1s); commit records and conflicted-copy reservations expire with them.
	ResultTTL time.Duration
	// KeepVersions, when above 0 (redis-lock strategy), says a bucket
	// lifecycle rule keeps only the newest KeepVersions versions of each
	// file under versions/: committing version v expires version
	// v-KeepVersions, and the commit script meters that expiry with the
	// commit (see "Usage metering" in the package comment). It must match
	// the bucket's rule, or the meter drifts from what S3 stores.
	KeepVersions int
	// UsageStreamMaxLen is about how many events each user's usage stream
	// keeps (XADD MAXLEN ~; default UsageStreamMaxLen). A deployment sizes
	// it to how far its billing consumer may fall behind: Redis holds up
	// to this many events per user.
	UsageStreamMaxLen int64
	// SkipContentCheck trusts the declared SHA-256 instead of hashing the
	// staged bytes (saves a read of every upload).
	SkipContentCheck bool
	Now              func() time.Time // the clock; required
	Observer         Observer
	Hooks            *Hooks
}

// Coordinator handles staged uploads and answers result queries.
type Coordinator struct {
	cfg Config
	s3  ObjectStore
	rdb redis.UniversalClient
	// scripts are the Redis scripts (Hooks.Script may have replaced one).
	scripts scripts
	// hooks is cfg.Hooks, or no hooks: its nil checks are made once, here.
	hooks Hooks
	// fences is cfg.Observer when it implements FenceObserver.
	fences FenceObserver
}

// ErrConfig is wrapped by configuration errors.
var ErrConfig = errors.New("bad coordinator config")

// New checks cfg and returns a Coordinator.
func New(cfg Config, store ObjectStore, rdb redis.UniversalClient) (*Coordinator, error) {
	if cfg.Bucket == "" {
		return nil, fmt.Errorf("%w: bucket is empty", ErrConfig)
	}
	if cfg.Now == nil {
		return nil, fmt.Errorf("%w: no clock", ErrConfig)
	}
	if p := cfg.ObjectPrefix; p != "" && (!strings.HasSuffix(p, "/") || strings.HasPrefix(p, "/") || strings.Contains(p, "//")) {
		return nil, fmt.Errorf("%w: object prefix %q must end in \"/\", without a leading or doubled \"/\"", ErrConfig, p)
	}
	switch cfg.Strategy {
	case "":
		cfg.Strategy = StrategyRedisLock
	case StrategyRedisLock, StrategyS3Conditional:
	default:
		return nil, fmt.Errorf("%w: unknown strategy %q", ErrConfig, cfg.Strategy)
	}
	if cfg.LockTTL <= 0 {
		cfg.LockTTL = 10 * time.Second
	}
	if cfg.LockWait <= 0 {
		cfg.LockWait = 2 * cfg.LockTTL
	}
	if cfg.ResultTTL == 0 {
		cfg.ResultTTL = 24 * time.Hour
	}
	switch {
	case cfg.UsageStreamMaxLen == 0:
		cfg.UsageStreamMaxLen = UsageStreamMaxLen
	case cfg.UsageStreamMaxLen < 0:
		return nil, fmt.Errorf("%w: usage stream length %d is negative", ErrConfig, cfg.UsageStreamMaxLen)
	}
	if cfg.KeepVersions < 0 {
		return nil, fmt.Errorf("%w: keep versions %d is negative", ErrConfig, cfg.KeepVersions)
	}
	if cfg.ResultTTL < time.Second {
		return nil, fmt.Errorf("%w: result TTL %s is under a second", ErrConfig, cfg.ResultTTL)
	}
	c := &Coordinator{cfg: cfg, s3: store, rdb: rdb}
	if cfg.Hooks != nil {
		c.hooks = *cfg.Hooks
	}
	c.fences, _ = cfg.Observer.(FenceObserver)
	c.scripts = newScripts(c.hooks.Script)
	return c, nil
}

// resultTTLSeconds is ResultTTL as a Redis EX argument.
func (c *Coordinator) resultTTLSeconds() string {
	return strconv.FormatInt(int64(c.cfg.ResultTTL/time.Second), 10)
}

// Strategy reports the configured strategy.
func (c *Coordinator) Strategy() Strategy { return c.cfg.Strategy }

// Result states.
const (
	StatePending   = "pending"
	StateCommitted = "committed"
	StateConflict  = "conflict"
	StateRejected  = "rejected"
)

// Result is the outcome of one upload, as stored, pushed and served.
type Result struct {
	ID        string    `json:"id"`
	User      string    `json:"user,omitempty"`
	Path      string    `json:"path,omitempty"`
	State     string    `json:"state"`
	Base      int64     `json:"base,omitempty"`
	Version   int64     `json:"version,omitempty"`   // committed: the new version
	Head      int64     `json:"head,omitempty"`      // conflict: the head it lost to
	Copy      string    `json:"copy,omitempty"`      // conflict: the conflicted copy's key
	SHA256    string    `json:"sha256,omitempty"`    // of the uploaded content
	Reason    string    `json:"reason,omitempty"`    // rejected: why
	DecidedAt time.Time `json:"decided_at,omitzero"` // when the decision became durable
}

// Redis key layout. Every key of one user shares the hash tag {user}, so
// the scripts work on Redis Cluster too.
func (c *Coordinator) key(user, kind, rest string) string {
	return c.cfg.Prefix + "{" + user + "}:" + kind + ":" + rest
}

func pathID(p string) string {
	h := sha256.Sum256([]byte(p))
	return hex.EncodeToString(h[:12])
}

func (c *Coordinator) lockKey(user, p string) string  { return c.key(user, "lock", pathID(p)) }
func (c *Coordinator) fenceKey(user, p string) string { return c.key(user, "fence", pathID(p)) }
func (c *Coordinator) headKey(user, p string) string  { return c.key(user, "head", pathID(p)) }
func (c *Coordinator) resultKey(user, id string) string {
	return c.key(user, "result", id)
}
func (c *Coordinator) commitKey(user, id string) string { return c.key(user, "commit", id) }
func (c *Coordinator) copyKey(user, id string) string   { return c.key(user, "copyof", id) }
func (c *Coordinator) copiesKey(user string) string     { return c.key(user, "copies", "names") }

// StagingKey is where a device stages an upload, under the object prefix.
func (c *Coordinator) StagingKey(user, uploadID string) string {
	return c.cfg.ObjectPrefix + StagingKey(user, uploadID)
}

// FinalKey is where a committed file lives, under the object prefix.
func (c *Coordinator) FinalKey(user, p string) string { return c.cfg.ObjectPrefix + FinalKey(user, p) }

// VersionKey is where version v of a file is kept, immutable: the source a
// handler repairs the final object from when its own lease was lost.
func (c *Coordinator) VersionKey(user, p string, v int64) string {
	return c.cfg.ObjectPrefix + VersionPrefix + user + "/" + pathID(p) + "/" + strconv.FormatInt(v, 10)
}

// StagingPrefix is the prefix of every staging key (for listing leftovers).
func (c *Coordinator) StagingPrefix() string { return c.cfg.ObjectPrefix + StagingPrefix }

// PushChannel is the Redis channel that carries a user's push notifications.
func (c *Coordinator) PushChannel(user string) string { return c.cfg.Prefix + "push:" + user }

// PushPattern matches every user's push channel (for PSUBSCRIBE).
func (c *Coordinator) PushPattern() string { return c.cfg.Prefix + "push:*" }

// LockPattern matches every lock key (for the cleanliness check).
func (c *Coordinator) LockPattern() string { return c.cfg.Prefix + "{*}:lock:*" }

func (c *Coordinator) step(ctx context.Context, id, name string) error {
	if c.hooks.Step == nil {
		return nil
	}
	return c.hooks.Step(ctx, id, name)
}

// guarded reports whether the named Go-side guard is in force (always, in
// production).
func (c *Coordinator) guarded(guard string) bool {
	return c.hooks.Disabled == nil || !c.hooks.Disabled(guard)
}

func (c *Coordinator) observeFence(u Upload, fence int64) {
	if c.fences != nil {
		c.fences.Fenced(FenceIssued{User: u.User, Path: u.Path, UploadID: u.ID, Fence: fence, At: c.cfg.Now()})
	}
}

func (c *Coordinator) observe(d Decision) {
	if c.cfg.Observer != nil {
		c.cfg.Observer.Decided(d)
	}
}

// Keys names the Redis keys the coordinator uses for one user's file and
// upload, for tools that inspect its state (the harness's read-back and
// its deliberately broken variants). Read them; don't write them.
type Keys struct {
	Lock, Fence, Head, Result, Commit string
}

// KeysFor returns the keys of user's file p and upload id.
func (c *Coordinator) KeysFor(user, p, id string) Keys {
	return Keys{Lock: c.lockKey(user, p), Fence: c.fenceKey(user, p), Head: c.headKey(user, p),
		Result: c.resultKey(user, id), Commit: c.commitKey(user, id)}
}

// Config returns the coordinator's configuration (defaults applied).
func (c *Coordinator) Config() Config { return c.cfg }
