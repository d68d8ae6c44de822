package billing

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/stormsim/stormsim/coordinator"
)

// DefaultPage is how many entries a Reader asks for at once.
const DefaultPage = 1000

// Reader feeds a Ledger from the usage streams in Redis, remembering per
// stream where it stopped, so calling ReadInto again reads only what is
// new. Not safe for concurrent use.
type Reader struct {
	rdb     redis.UniversalClient
	pattern string
	page    int64
	next    map[string]string // stream key -> last id read
}

// NewReader reads the streams matching pattern (coordinator's
// UsagePattern).
func NewReader(rdb redis.UniversalClient, pattern string) *Reader {
	return &Reader{rdb: rdb, pattern: pattern, page: DefaultPage, next: map[string]string{}}
}

// ReadInto adds every event not read before to l and returns how many
// entries it read. A malformed entry is an error naming it; the entries
// before it are already added.
func (r *Reader) ReadInto(ctx context.Context, l *Ledger) (int, error) {
	var keys []string
	it := r.rdb.Scan(ctx, 0, r.pattern, 1000).Iterator()
	for it.Next(ctx) {
		keys = append(keys, it.Val())
	}
	if err := it.Err(); err != nil {
		return 0, fmt.Errorf("list usage streams %s: %w", r.pattern, err)
	}
	n := 0
	for _, key := range keys {
		err := ReadStream(ctx, r.rdb, key, r.next[key], r.page, func(e coordinator.UsageEvent) error {
			l.Add(e)
			r.next[key] = e.ID
			n++
			return nil
		})
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// ReadStream calls fn with each entry of the usage stream key after the
// entry id after ("" for all), oldest first, reading page entries at a
// time. It stops at fn's first error, or a malformed entry.
func ReadStream(ctx context.Context, rdb redis.Cmdable, key, after string, page int64, fn func(coordinator.UsageEvent) error) error {
	for {
		start := "-"
		if after != "" {
			start = "(" + after
		}
		msgs, err := rdb.XRangeN(ctx, key, start, "+", page).Result()
		if err != nil {
			return fmt.Errorf("read usage stream %s: %w", key, err)
		}
		for _, m := range msgs {
			e, err := coordinator.ParseUsageEvent(m.ID, m.Values)
			if err != nil {
				return fmt.Errorf("read usage stream %s: %w", key, err)
			}
			if err := fn(e); err != nil {
				return err
			}
			after = m.ID
		}
		if int64(len(msgs)) < page {
			return nil
		}
	}
}
