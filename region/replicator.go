package region

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/stormsim/stormsim/coordinator"
	"github.com/stormsim/stormsim/internal/syncx"
)

// Store lists the S3 calls the replicator makes; *s3.Client implements it.
type Store interface {
	GetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	HeadObject(ctx context.Context, in *s3.HeadObjectInput, opts ...func(*s3.Options)) (*s3.HeadObjectOutput, error)
	PutObject(ctx context.Context, in *s3.PutObjectInput, opts ...func(*s3.Options)) (*s3.PutObjectOutput, error)
}

var _ Store = (*s3.Client)(nil)

// Publisher sends a notification on a Redis channel; go-redis's
// UniversalClient satisfies it through PublishFunc.
type Publisher interface {
	Publish(ctx context.Context, channel string, msg []byte) error
}

// PublishFunc adapts a function to Publisher.
type PublishFunc func(ctx context.Context, channel string, msg []byte) error

// Publish calls f.
func (f PublishFunc) Publish(ctx context.Context, channel string, msg []byte) error {
	return f(ctx, channel, msg)
}

// Target is one region a version is copied to.
type Target struct {
	Name   string
	Store  Store // the client the replicator uses to reach this region's S3
	Bucket string
	Notify Publisher // this region's Redis (nil: no notifications)
}

// Guards the self-test may skip through Hooks.Disabled.
const (
	// GuardNewerOnly: apply a version only when the target holds an older
	// one, with a conditional PUT. Without it a late or duplicated event
	// overwrites a newer version.
	GuardNewerOnly = "newer-only"
	// GuardRetry: retry a failed copy. Without it one failure drops the
	// event.
	GuardRetry = "retry"
	// GuardConditionalWrite: make the PUT conditional on what was read
	// (If-Match, or If-None-Match: * when absent). Without it, with the
	// newer-only check kept, two copies in flight together both write.
	GuardConditionalWrite = "conditional-write"
	// GuardVersionSource: copy the immutable version key. Without it the
	// replicator copies home's final key, which may already hold a newer
	// version, under this version's number and SHA-256.
	GuardVersionSource = "version-source"
	// GuardNotifyAfterCopy: notify a region's devices once the version is
	// in the region. Without it they are notified when the event arrives,
	// before the copy, and read what the region held before.
	GuardNotifyAfterCopy = "notify-after-copy"
	// GuardNotify: notify a region's devices of each version applied
	// there. Without it they learn of it only on their next read.
	GuardNotify = "notify"
	// GuardNotifyApplied: notify only a version this event applied.
	// Without it a duplicated or late event the region already holds is
	// announced again.
	GuardNotifyApplied = "notify-applied"
)

// Hooks let the harness build deliberately broken replicators. nil in
// production.
type Hooks struct {
	Disabled func(guard string) bool
}

// Applied is one attempt's outcome at a target, for an Observer.
type Applied struct {
	Region  string
	Event   Event
	Outcome string    // OutcomeApplied, OutcomeSkipped or OutcomeFailed
	Held    int64     // the version the target held before (0: none)
	Start   time.Time // before the target was read
	At      time.Time // after the write (or the decision to skip)
	Bytes   int64     // bytes copied across regions
	// Notified: the target region's devices were notified (applied only,
	// unless a notify guard is off).
	Notified bool
	Error    string
}

// Outcomes of Applied.
const (
	OutcomeApplied = "applied" // the version was written to the target
	OutcomeSkipped = "skipped" // the target already held it or a newer one
	OutcomeFailed  = "failed"  // the attempts ran out (or the guard is off)
)

// Observer learns each outcome at a target and each notification sent.
// Production passes nil; the harness records them.
type Observer interface {
	Replicated(a Applied)
}

// Config configures a Replicator.
type Config struct {
	Home   string // the home region's name
	Source Store  // the home region's S3
	Bucket string // the home region's bucket
	// Prefix starts every Redis channel (as coordinator.Config.Prefix).
	Prefix string
	// Attempts bounds the tries per event and target, the first included
	// (default 6); Backoff is the first wait, doubled each time up to
	// MaxBackoff (defaults 100ms and 2s).
	Attempts   int
	Backoff    time.Duration
	MaxBackoff time.Duration
	// MaxCAS bounds the read-compare-write rounds lost to concurrent
	// copies (412) within one attempt (default 16).
	MaxCAS   int
	Now      func() time.Time                                 // required
	Sleep    func(ctx context.Context, d time.Duration) error // nil: a timer
	Observer Observer
	Hooks    *Hooks
}

// Replicator copies committed versions from one home region to targets.
type Replicator struct {
	cfg     Config
	targets []Target
}

// ErrConfig is wrapped by configuration errors.
var ErrConfig = errors.New("bad replicator config")

// New checks cfg and returns a Replicator for targets.
func New(cfg Config, targets []Target) (*Replicator, error) {
	switch {
	case cfg.Source == nil || cfg.Bucket == "":
		return nil, fmt.Errorf("new replicator: %w: source store and bucket required", ErrConfig)
	case cfg.Now == nil:
		return nil, fmt.Errorf("new replicator: %w: Now required", ErrConfig)
	}
	for _, t := range targets {
		if t.Store == nil || t.Bucket == "" || t.Name == "" || t.Name == cfg.Home {
			return nil, fmt.Errorf("new replicator: %w: target %q needs a name other than the home's, a store and a bucket", ErrConfig, t.Name)
		}
	}
	if cfg.Attempts <= 0 {
		cfg.Attempts = 6
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = 100 * time.Millisecond
	}
	if cfg.MaxBackoff < cfg.Backoff {
		cfg.MaxBackoff = max(2*time.Second, cfg.Backoff)
	}
	if cfg.MaxCAS <= 0 {
		cfg.MaxCAS = 16
	}
	if cfg.Sleep == nil {
		cfg.Sleep = syncx.Sleep
	}
	return &Replicator{cfg: cfg, targets: targets}, nil
}

// Event is one committed version to replicate.
type Event struct {
	User    string `json:"user"`
	Path    string `json:"path"`
	Version int64  `json:"version"`
	SHA256  string `json:"sha256"`
	Key     string `json:"key"` // the immutable version key in the home bucket
}

// Notification is what a target region publishes after applying a version.
type Notification struct {
	User    string `json:"user"`
	Path    string `json:"path"`
	Version int64  `json:"version"`
	Region  string `json:"region"`
}

// NotifyChannel is the Redis channel carrying a user's replication
// notifications in a region.
func NotifyChannel(prefix, user string) string { return prefix + "replica:" + user }

// NotifyPattern matches every user's notification channel.
func NotifyPattern(prefix string) string { return prefix + "replica:*" }

// IsVersionKey reports whether key is an immutable version key
// (versions/{user}/{pathid}/{version}), the only keys whose events Handle
// acts on. A coordinator's ObjectPrefix is not supported: a final key whose
// path has a "versions/" folder is not one.
func IsVersionKey(key string) bool { return strings.HasPrefix(key, coordinator.VersionPrefix) }

// Handle replicates the version named by each record of ev to every target.
// Records of other keys are ignored. It returns the errors of targets whose
// attempts ran out, joined; the others were still copied.
func (r *Replicator) Handle(ctx context.Context, ev events.S3Event) error {
	var errs []error
	for _, rec := range ev.Records {
		key, err := url.QueryUnescape(rec.S3.Object.Key)
		if err != nil || !IsVersionKey(key) {
			continue
		}
		e, err := r.resolve(ctx, key)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, t := range r.targets {
			if err := r.Replicate(ctx, e, t); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// resolve reads a version key's metadata: path, version, SHA-256.
func (r *Replicator) resolve(ctx context.Context, key string) (Event, error) {
	var out *s3.HeadObjectOutput
	err := r.retry(ctx, func() error {
		var err error
		out, err = r.cfg.Source.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &r.cfg.Bucket, Key: &key})
		return err
	})
	if err != nil {
		return Event{}, fmt.Errorf("read version %s: %w", key, err)
	}
	meta := lower(out.Metadata)
	p, err := url.PathUnescape(meta[coordinator.MetaPath])
	if err != nil || p == "" {
		return Event{}, fmt.Errorf("read version %s: no path in metadata", key)
	}
	v, err := strconv.ParseInt(meta[coordinator.MetaVersion], 10, 64)
	if err != nil || v <= 0 {
		return Event{}, fmt.Errorf("read version %s: bad version %q", key, meta[coordinator.MetaVersion])
	}
	user := versionUser(key)
	return Event{User: user, Path: p, Version: v, SHA256: meta[coordinator.MetaSHA256], Key: key}, nil
}

// versionUser is {user} of [prefix]versions/{user}/{pathid}/{version}.
func versionUser(key string) string {
	rest := strings.TrimPrefix(key, coordinator.VersionPrefix)
	user, _, _ := strings.Cut(rest, "/")
	return user
}

// Replicate copies e to t unless t holds it or a newer version, with
// bounded retries, then notifies t's devices.
func (r *Replicator) Replicate(ctx context.Context, e Event, t Target) error {
	start := r.cfg.Now()
	early := r.disabled(GuardNotifyAfterCopy)
	var noted error
	if early {
		noted = r.announce(ctx, e, t) // broken: before the version is there
	}
	var a Applied
	err := r.retry(ctx, func() error {
		var err error
		a, err = r.apply(ctx, e, t)
		return err
	})
	a.Region, a.Event, a.Start, a.At = t.Name, e, start, r.cfg.Now()
	if err != nil {
		a.Outcome, a.Error = OutcomeFailed, err.Error()
		a.Notified = early && noted == nil && t.Notify != nil
		r.observe(a)
		return fmt.Errorf("replicate %s v%d to %s: %w", e.Key, e.Version, t.Name, err)
	}
	sent := early
	if !early && !r.disabled(GuardNotify) && (a.Outcome == OutcomeApplied || r.disabled(GuardNotifyApplied)) {
		noted, sent = r.announce(ctx, e, t), true
	}
	if sent {
		if noted != nil {
			a.Error = noted.Error()
		} else {
			a.Notified = t.Notify != nil
		}
	}
	r.observe(a)
	return nil
}

// announce notifies t's devices of e, with retries. The copy is durable;
// a lost notification only delays a device until its next read, so its
// failure is reported, not retried as a copy (which would find the
// version held and skip).
func (r *Replicator) announce(ctx context.Context, e Event, t Target) error {
	return r.retry(ctx, func() error { return r.notify(ctx, e, t) })
}

func (r *Replicator) observe(a Applied) {
	if r.cfg.Observer != nil {
		r.cfg.Observer.Replicated(a)
	}
}

// retry runs f up to Attempts times with exponential backoff (once when
// the retry guard is off).
func (r *Replicator) retry(ctx context.Context, f func() error) error {
	wait := r.cfg.Backoff
	attempts := r.cfg.Attempts
	if r.disabled(GuardRetry) {
		attempts = 1
	}
	var err error
	for i := 0; i < attempts; i++ {
		if i > 0 {
			if serr := r.cfg.Sleep(ctx, wait); serr != nil {
				return errors.Join(err, serr)
			}
			wait = min(2*wait, r.cfg.MaxBackoff)
		}
		if err = f(); err == nil || ctx.Err() != nil {
			return err
		}
	}
	return err
}

func (r *Replicator) disabled(guard string) bool {
	return r.cfg.Hooks != nil && r.cfg.Hooks.Disabled != nil && r.cfg.Hooks.Disabled(guard)
}

// notify publishes the notification for an applied version.
func (r *Replicator) notify(ctx context.Context, e Event, t Target) error {
	if t.Notify == nil {
		return nil
	}
	msg, err := json.Marshal(Notification{User: e.User, Path: e.Path, Version: e.Version, Region: t.Name})
	if err != nil {
		return fmt.Errorf("encode notification: %w", err)
	}
	if err := t.Notify.Publish(ctx, NotifyChannel(r.cfg.Prefix, e.User), msg); err != nil {
		return fmt.Errorf("notify %s: %w", t.Name, err)
	}
	return nil
}

// lower returns meta with lowercase keys (S3 metadata names are
// case-insensitive; fakes and SDKs differ in what they return).
func lower(meta map[string]string) map[string]string {
	out := make(map[string]string, len(meta))
	for k, v := range meta {
		out[strings.ToLower(k)] = v
	}
	return out
}
