package coordinator

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// UsageStreamMaxLen is about how many usage events a user's stream keeps
// (XADD MAXLEN ~) unless Config.UsageStreamMaxLen says otherwise. Trimming is safe: the meter, not the stream, holds the
// user's total; every event carries that total and a per-user sequence
// number, so a consumer that fell further behind than this sees the gap
// (a skipped sequence number) and resynchronises from the next event's
// total instead of billing wrongly in silence.
const UsageStreamMaxLen = 10000

// Usage event kinds: what changed the user's stored bytes.
const (
	// UsageCommit: a commit replaced the final object (and, with the
	// redis-lock strategy, kept the version under versions/).
	UsageCommit = "commit"
	// UsageCopy: a losing upload's bytes were kept as a conflicted copy.
	UsageCopy = "copy"
	// UsageExpire: a commit pushed the file's oldest kept version out of
	// the last Config.KeepVersions (a lifecycle rule deletes it); the
	// event is the committing upload's, Version the expired version and
	// Delta minus its size.
	UsageExpire = "expire"
)

// UsageEvent is one entry of a user's usage stream.
type UsageEvent struct {
	// ID is the stream entry id.
	ID      string
	Upload  string
	User    string
	Path    string
	Kind    string // UsageCommit, UsageCopy or UsageExpire
	Version int64  // the committed version (UsageCommit), the expired one (UsageExpire)
	Delta   int64  // bytes added (negative when a file shrank)
	Bytes   int64  // the user's metered bytes after this event
	Seq     int64  // the user's event number, from 1, without gaps
	At      time.Time
}

func (c *Coordinator) meterKey(user string) string { return c.key(user, "usage", "meter") }
func (c *Coordinator) billedKey(user, p string) string {
	return c.key(user, "billed", pathID(p))
}

// UsageStream is the Redis stream of user's usage events.
func (c *Coordinator) UsageStream(user string) string { return c.key(user, "usage", "events") }

// UsagePattern matches every user's usage stream (for SCAN).
func (c *Coordinator) UsagePattern() string { return c.cfg.Prefix + "{*}:usage:events" }

// Metered reads user's metered bytes (0 for a user never metered).
func (c *Coordinator) Metered(ctx context.Context, user string) (int64, error) {
	n, err := c.rdb.HGet(ctx, c.meterKey(user), "bytes").Int64()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read meter of %s: %w", user, err)
	}
	return n, nil
}

// nanos is t as a script argument.
func nanos(t time.Time) string { return strconv.FormatInt(t.UnixNano(), 10) }

// ParseUsageEvent decodes one stream entry of a usage stream.
func ParseUsageEvent(id string, values map[string]any) (UsageEvent, error) {
	e := UsageEvent{ID: id}
	str := func(k string) string { s, _ := values[k].(string); return s }
	num := func(k string) (int64, error) {
		n, err := strconv.ParseInt(str(k), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("parse usage event %s: field %s %q: %w", id, k, str(k), err)
		}
		return n, nil
	}
	e.Upload, e.User, e.Path, e.Kind = str("upload"), str("user"), str("path"), str("kind")
	if e.Upload == "" || e.User == "" || (e.Kind != UsageCommit && e.Kind != UsageCopy && e.Kind != UsageExpire) {
		return e, fmt.Errorf("parse usage event %s: missing upload, user or kind in %v", id, values)
	}
	var err error
	if e.Version, err = num("version"); err != nil {
		return e, err
	}
	if e.Delta, err = num("delta"); err != nil {
		return e, err
	}
	if e.Bytes, err = num("bytes"); err != nil {
		return e, err
	}
	if e.Seq, err = num("seq"); err != nil {
		return e, err
	}
	at, err := num("at")
	if err != nil {
		return e, err
	}
	e.At = time.Unix(0, at).UTC()
	return e, nil
}
