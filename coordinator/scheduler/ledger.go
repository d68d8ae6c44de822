package scheduler

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

var (
	_ Ledger = (*MemLedger)(nil)
	_ Ledger = (*RedisLedger)(nil)
)

// MemLedger is an in-memory Ledger on an injected clock (virtual in a
// simulation), for tests and single-process runs.
type MemLedger struct {
	now func() time.Time

	mu      sync.Mutex
	entries map[string]memClaim
}

type memClaim struct {
	sent  bool
	token string
	until time.Time
}

// NewMemLedger returns an empty ledger whose leases run on now.
func NewMemLedger(now func() time.Time) *MemLedger {
	return &MemLedger{now: now, entries: map[string]memClaim{}}
}

// Claim implements Ledger.
func (l *MemLedger) Claim(_ context.Context, id, token string, lease time.Duration) (ClaimState, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.entries[id]
	now := l.now()
	switch {
	case ok && e.sent:
		return ClaimSent, nil
	case ok && now.Before(e.until):
		return ClaimHeld, nil
	}
	l.entries[id] = memClaim{token: token, until: now.Add(lease)}
	return ClaimTaken, nil
}

// MarkSent implements Ledger.
func (l *MemLedger) MarkSent(_ context.Context, id string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.entries[id] = memClaim{sent: true}
	return nil
}

// Release implements Ledger.
func (l *MemLedger) Release(_ context.Context, id, token string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e, ok := l.entries[id]; ok && !e.sent && e.token == token {
		delete(l.entries, id)
	}
	return nil
}

// RedisLedger keeps the ledger in Redis, one key per event id:
//
//	{prefix}:mail:{id}  "claim:{token}" with the lease as its PX expiry,
//	                    then "sent" (kept for SentTTL; 0: forever)
//
// Leases run on the Redis server's clock.
type RedisLedger struct {
	c      redis.UniversalClient
	prefix string
	// SentTTL bounds how long a sent mark is kept; it must outlast every
	// way an event can run again (re-inserts, retries). 0 keeps it.
	SentTTL time.Duration
}

// NewRedisLedger returns a ledger on c with keys under prefix.
func NewRedisLedger(c redis.UniversalClient, prefix string) *RedisLedger {
	return &RedisLedger{c: c, prefix: prefix}
}

func (l *RedisLedger) key(id string) string { return l.prefix + ":mail:" + id }

// claimScript: 0 taken, 1 sent, 2 held. SET NX alone cannot tell sent from
// held, and a GET after it would race a MarkSent.
var claimScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v == 'sent' then return 1 end
if v then return 2 end
redis.call('SET', KEYS[1], 'claim:' .. ARGV[1], 'PX', ARGV[2])
return 0`)

var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == 'claim:' .. ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`)

// Claim implements Ledger.
func (l *RedisLedger) Claim(ctx context.Context, id, token string, lease time.Duration) (ClaimState, error) {
	n, err := claimScript.Run(ctx, l.c, []string{l.key(id)}, token, max(lease.Milliseconds(), 1)).Int()
	if err != nil {
		return 0, fmt.Errorf("claim %s: %w", id, err)
	}
	return ClaimState(n), nil
}

// MarkSent implements Ledger.
func (l *RedisLedger) MarkSent(ctx context.Context, id string) error {
	if err := l.c.Set(ctx, l.key(id), "sent", l.SentTTL).Err(); err != nil {
		return fmt.Errorf("mark sent %s: %w", id, err)
	}
	return nil
}

// Release implements Ledger.
func (l *RedisLedger) Release(ctx context.Context, id, token string) error {
	if err := releaseScript.Run(ctx, l.c, []string{l.key(id)}, token).Err(); err != nil {
		return fmt.Errorf("release %s: %w", id, err)
	}
	return nil
}
