package fault

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/redis/go-redis/v9"

	"github.com/stormsim/stormsim/coordinator"
	"github.com/stormsim/stormsim/internal/syncx"
	"github.com/stormsim/stormsim/scenarios"
	"github.com/stormsim/stormsim/sim/delivery"
	"github.com/stormsim/stormsim/sim/env"
)

// RedisHook adds the redis-latency and redis-reply-lost faults to the
// client it is added to.
func (f *Set) RedisHook() redis.Hook { return redisHook{f} }

// wrapS3 puts S3 errors and latency in front of the fake S3. Only the
// system under test's requests (the handler's and the result API's) are
// affected: a device whose staging PUT fails has nothing to wait for, and
// the faults are about how the coordinator copes.
func (f *Set) WrapS3(next http.Handler) http.Handler {
	if !f.Has(S3Error, S3Latency) {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		switch req.Header.Get(env.ClientHeader) {
		case env.ClientCoordinator, env.ClientAPI:
		default:
			next.ServeHTTP(w, req)
			return
		}
		if s, ok := f.fire(S3Latency, nil); ok {
			syncx.Sleep(req.Context(), s.Latency)
		}
		if s, ok := f.fire(S3Error, nil); ok {
			writeS3Error(w, req, s.Code)
			return
		}
		next.ServeHTTP(w, req)
	})
}

// writeS3Error answers as S3 does when it sheds load (503 SlowDown) or
// fails (500 InternalError). The request body is read first, as a server
// that fails late would, so the client's connection stays usable.
func writeS3Error(w http.ResponseWriter, req *http.Request, code int) {
	_, _ = io.Copy(io.Discard, io.LimitReader(req.Body, 64<<20))
	if code == 0 {
		code = http.StatusServiceUnavailable
	}
	name, msg := "InternalError", "We encountered an internal error. Please try again."
	switch {
	case code == http.StatusServiceUnavailable:
		name, msg = "SlowDown", "Please reduce your request rate."
	case code < 500:
		name, msg = "InjectedFault", "A fault injected by stormsim."
	}
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(code)
	if req.Method != http.MethodHead {
		fmt.Fprintf(w, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>%s</Code><Message>%s</Message><RequestId>stormsim</RequestId></Error>", name, msg)
	}
}

// redisHook adds latency to Redis commands (redis-latency) and loses the
// replies of scripts that ran (redis-reply-lost).
type redisHook struct{ f *Set }

// errReplyLost is a script's reply lost on its way back: the script ran,
// the client timed out, and the caller cannot tell whether it ran.
var errReplyLost = &net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded}

func (h redisHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h redisHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if s, ok := h.f.fire(RedisLatency, nil); ok {
			syncx.Sleep(ctx, s.Latency)
		}
		err := next(ctx, cmd)
		if name := cmd.Name(); err == nil && (name == "evalsha" || name == "eval") {
			if _, ok := h.f.fire(RedisReplyLost, nil); ok {
				cmd.SetErr(errReplyLost)
				return errReplyLost
			}
		}
		return err
	}
}

func (h redisHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if s, ok := h.f.fire(RedisLatency, nil); ok {
			syncx.Sleep(ctx, s.Latency)
		}
		return next(ctx, cmds)
	}
}

// step is the coordinator hook: crashes at the named step, pauses longer
// than the lock TTL, and failovers that lose every lock while this handler
// holds one.
func (f *Set) step(ctx context.Context, id, step string) error {
	at := func(s *scenarios.Fault) bool { return s.Step == step && f.inPhase(s, id) }
	if _, ok := f.fire(HandlerCrash, at); ok {
		return coordinator.ErrCrash
	}
	// The handler's own lock goes before its pause, so a waiting upload
	// takes the lock while this handler is still on its way.
	if s, ok := f.fire(RedisLockExpiry, at); ok {
		f.stall(ctx, s, id, false)
	}
	if s, ok := f.fire(RedisFenceRollback, at); ok {
		f.stall(ctx, s, id, true)
	}
	pauseAt := func(s *scenarios.Fault) bool {
		return (s.Step == step || s.Step == "" && step == f.pauseStep) && f.inPhase(s, id)
	}
	if s, ok := f.fire(HandlerPause, pauseAt); ok {
		syncx.Sleep(ctx, s.Latency)
	}
	if step == coordinator.StepAfterLock {
		if _, ok := f.fire(RedisLockLoss, nil); ok {
			f.loseLocks(ctx)
		}
	}
	return nil
}

// loseOwnLock deletes the lock of the file upload id holds (its TTL ran
// out early); rollback also takes the file's fencing counter one back, as a
// failover to a replica that missed the holder's increment would, so the
// next holder is issued the same token. Both in one transaction, so no
// acquire falls between them.
// It returns the file's fencing counter and head version right after, and
// ok false when the handler holds no known lock.
func (f *Set) loseOwnLock(ctx context.Context, id string, rollback bool) (k coordinator.Keys, at fileState, ok bool) {
	if f.lease == nil {
		return k, at, false
	}
	user, path, ok := f.lease(id)
	if !ok {
		return k, at, false
	}
	k = f.coord.KeysFor(user, path, id)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	var fence *redis.StringCmd
	var head *redis.StringCmd
	_, err := f.target.Redis.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, k.Lock)
		if rollback {
			p.Decr(ctx, k.Fence)
		}
		fence, head = p.Get(ctx, k.Fence), p.HGet(ctx, k.Head, "v")
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return k, at, false
	}
	return k, readState(fence, head), true
}

// loseLocks deletes every lock of the run, as a failover to a replica that
// had not seen them would.
func (f *Set) loseLocks(ctx context.Context) int {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	n := 0
	iter := f.target.Redis.Scan(ctx, 0, f.coord.LockPattern(), 1000).Iterator()
	for iter.Next(ctx) {
		if f.target.Redis.Del(ctx, iter.Val()).Err() == nil {
			n++
		}
	}
	return n
}

// eventFate is the delivery's fate hook (called under its lock).
func (f *Set) EventFate(events.S3EventRecord) delivery.EventFate {
	var fate delivery.EventFate
	if _, ok := f.fire(EventDrop, nil); ok {
		fate.Drop = true
		return fate
	}
	if _, ok := f.fire(EventDuplicate, nil); ok {
		fate.Duplicate = true
	}
	if s, ok := f.fire(EventDelay, nil); ok {
		fate.Delay = s.Latency
	}
	if _, ok := f.fire(EventReorder, nil); ok {
		f.mu.Lock()
		fate.HoldBack = time.Duration(1 + f.rng.Int64N(int64(reorderHold)))
		f.mu.Unlock()
	}
	return fate
}

// pushLost reports whether a push is lost to an outage.
func (f *Set) PushLost() bool {
	_, ok := f.fire(PushOutage, nil)
	return ok
}

// Hostile upload variants, sent in turn. Each must be rejected.
var hostileVariants = []string{"path-traversal", "absolute-path", "control-character", "oversized-path",
	"too-much-metadata", "missing-metadata", "other-user", "sha256-mismatch"}

// hostile returns the variant of hostile input this upload should carry,
// or "".
func (f *Set) Hostile() string {
	if _, ok := f.fire(HostileUpload, nil); ok {
		return hostileVariants[(f.hostileN.Add(1)-1)%uint64(len(hostileVariants))]
	}
	return ""
}
