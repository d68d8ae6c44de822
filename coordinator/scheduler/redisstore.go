package scheduler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

var (
	_ Store    = (*RedisStore)(nil)
	_ Register = (*RedisStore)(nil)
)

// RedisStore keeps the table in Redis under a key prefix:
//
//	{prefix}:due  sorted set, member event ID, score the due time in Unix
//	              microseconds rounded up (so a score <= now never means early)
//	{prefix}:ev   hash, event ID -> JSON {due, payload}
//	{prefix}:arm  hash, the arm register: target, ver, lastput (Unix µs)
//
// MarkDone is ZREM: its reply is 1 for exactly one caller, which makes the
// claim atomic without a script. The register's read-modify-writes are Lua
// scripts. Redis reads are strongly consistent (single primary).
type RedisStore struct {
	c      redis.UniversalClient
	due    string
	events string
	arm    string
}

// NewRedisStore returns a table on c with keys under prefix (for example
// "sched"; tests use a unique prefix per run).
func NewRedisStore(c redis.UniversalClient, prefix string) *RedisStore {
	// A hash tag keeps the keys in one cluster slot, so the scripts and
	// transactions below work on Redis Cluster too.
	p := "{" + prefix + "}"
	return &RedisStore{c: c, due: p + ":due", events: p + ":ev", arm: p + ":arm"}
}

type redisEvent struct {
	Due     time.Time `json:"due"`
	Payload []byte    `json:"payload,omitempty"`
}

// Put implements Store.
func (s *RedisStore) Put(ctx context.Context, ev Event) error {
	b, err := json.Marshal(redisEvent{Due: ev.Due, Payload: ev.Payload})
	if err != nil {
		return fmt.Errorf("encode event %s: %w", ev.ID, err)
	}
	_, err = s.c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, s.events, ev.ID, b)
		p.ZAdd(ctx, s.due, redis.Z{Score: float64(ceilMicro(ev.Due)), Member: ev.ID})
		return nil
	})
	if err != nil {
		return fmt.Errorf("put event %s: %w", ev.ID, err)
	}
	return nil
}

// Due implements Store.
func (s *RedisStore) Due(ctx context.Context, now time.Time, limit int) ([]Event, error) {
	ids, err := s.c.ZRangeByScore(ctx, s.due, &redis.ZRangeBy{
		Min: "-inf", Max: strconv.FormatInt(now.UnixMicro(), 10), Count: int64(limit),
	}).Result()
	if err != nil || len(ids) == 0 {
		return nil, err
	}
	vals, err := s.c.HMGet(ctx, s.events, ids...).Result()
	if err != nil {
		return nil, fmt.Errorf("read events: %w", err)
	}
	out := make([]Event, 0, len(ids))
	for i, v := range vals {
		str, ok := v.(string)
		if !ok {
			continue // claimed and deleted since the range read
		}
		var re redisEvent
		if err := json.Unmarshal([]byte(str), &re); err != nil {
			return nil, fmt.Errorf("decode event %s: %w", ids[i], err)
		}
		out = append(out, Event{ID: ids[i], Due: re.Due, Payload: re.Payload})
	}
	return out, nil
}

// Next implements Store.
func (s *RedisStore) Next(ctx context.Context) (time.Time, bool, error) {
	zs, err := s.c.ZRangeWithScores(ctx, s.due, 0, 0).Result()
	if err != nil || len(zs) == 0 {
		return time.Time{}, false, err
	}
	return time.UnixMicro(int64(zs[0].Score)), true, nil
}

// MarkDone implements Store.
func (s *RedisStore) MarkDone(ctx context.Context, id string) (bool, error) {
	var rem *redis.IntCmd
	_, err := s.c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		rem = p.ZRem(ctx, s.due, id)
		p.HDel(ctx, s.events, id)
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("mark done %s: %w", id, err)
	}
	return rem.Val() == 1, nil
}

var noteInsert = redis.NewScript(`
local t = tonumber(redis.call('HGET', KEYS[1], 'target') or '0')
local lp = tonumber(redis.call('HGET', KEYS[1], 'lastput') or '0')
local v = redis.call('HINCRBY', KEYS[1], 'ver', 1)
local m, now, spent = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
if now > lp then
  lp = now
  redis.call('HSET', KEYS[1], 'lastput', ARGV[2])
end
local low = 0
if t == 0 or m < t or t <= spent then
  t = m
  low = 1
  redis.call('HSET', KEYS[1], 'target', ARGV[1])
end
return {t, v, lp, low}
`)

var setTarget = redis.NewScript(`
local v = tonumber(redis.call('HGET', KEYS[1], 'ver') or '0')
if v ~= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'target', ARGV[2])
redis.call('HINCRBY', KEYS[1], 'ver', 1)
return 1
`)

// ArmState implements Register.
func (s *RedisStore) ArmState(ctx context.Context) (ArmState, error) {
	vals, err := s.c.HMGet(ctx, s.arm, "target", "ver", "lastput").Result()
	if err != nil {
		return ArmState{}, fmt.Errorf("read arm register: %w", err)
	}
	n := make([]int64, 3)
	for i, v := range vals {
		if str, ok := v.(string); ok {
			if n[i], err = strconv.ParseInt(str, 10, 64); err != nil {
				return ArmState{}, fmt.Errorf("parse arm register: %w", err)
			}
		}
	}
	return ArmState{Target: fromMicro(n[0]), Version: n[1], LastPut: fromMicro(n[2])}, nil
}

// NoteInsert implements Register.
func (s *RedisStore) NoteInsert(ctx context.Context, target, now, spent time.Time) (ArmState, error) {
	res, err := noteInsert.Run(ctx, s.c, []string{s.arm},
		toMicro(target), toMicro(now), toMicro(spent)).Slice()
	if err != nil {
		return ArmState{}, fmt.Errorf("note insert: %w", err)
	}
	if len(res) != 4 {
		return ArmState{}, errors.New("note insert: bad reply")
	}
	n := make([]int64, 4)
	for i, v := range res {
		x, ok := v.(int64)
		if !ok {
			return ArmState{}, fmt.Errorf("note insert: bad reply %T", v)
		}
		n[i] = x
	}
	// Lua numbers are doubles: exact for Unix microseconds (< 2^53).
	return ArmState{
		Target: fromMicro(n[0]), Version: n[1],
		LastPut: fromMicro(n[2]), Lowered: n[3] == 1,
	}, nil
}

// SetTarget implements Register.
func (s *RedisStore) SetTarget(ctx context.Context, version int64, target time.Time) (bool, error) {
	n, err := setTarget.Run(ctx, s.c, []string{s.arm}, version, toMicro(target)).Int()
	if err != nil {
		return false, fmt.Errorf("set arm target: %w", err)
	}
	return n == 1, nil
}

// toMicro maps the zero time to 0 (disarmed) and others to Unix µs.
func toMicro(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func fromMicro(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return time.UnixMicro(us)
}

// ceilMicro is t in Unix microseconds, rounded up.
func ceilMicro(t time.Time) int64 {
	us := t.UnixMicro()
	if time.UnixMicro(us).Before(t) {
		us++
	}
	return us
}
