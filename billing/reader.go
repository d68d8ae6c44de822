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
		for {
			start := "-"
			if last, ok := r.next[key]; ok {
				start = "(" + last
			}
			msgs, err := r.rdb.XRangeN(ctx, key, start, "+", r.page).Result()
			if err != nil {
				return n, fmt.Errorf("read usage stream %s: %w", key, err)
			}
			for _, m := range msgs {
				e, err := coordinator.ParseUsageEvent(m.ID, m.Values)
				if err != nil {
					return n, fmt.Errorf("read usage stream %s: %w", key, err)
				}
				l.Add(e)
				r.next[key] = m.ID
				n++
			}
			if int64(len(msgs)) < r.page {
				break
			}
		}
	}
	return n, nil
}
