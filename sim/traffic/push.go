package traffic

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/stormsim/stormsim/coordinator"
	"github.com/stormsim/stormsim/scenarios"
	"github.com/stormsim/stormsim/sim/history"
)

// PushHub receives every user's push channel over one pattern subscription
// and hands each notification to the device waiting for that upload (one
// Redis connection instead of one per device).
type PushHub struct {
	ps      *redis.PubSub
	now     func() time.Time
	sink    Sink                         // records each push as it arrives
	deliver func(res coordinator.Result) // loss, delay and outage are applied here

	mu      sync.Mutex // guards waiters
	waiters map[string]pushTarget

	done chan struct{}
}

// NewPushHub subscribes to pattern; every push that arrives goes to sink.
func NewPushHub(ctx context.Context, rdb redis.UniversalClient, pattern string, now func() time.Time, sink Sink) (*PushHub, error) {
	ps := rdb.PSubscribe(ctx, pattern)
	if _, err := ps.Receive(ctx); err != nil { // wait for the subscription to be live
		_ = ps.Close()
		return nil, err
	}
	h := &PushHub{ps: ps, now: now, sink: sink, waiters: map[string]pushTarget{}, done: make(chan struct{})}
	h.deliver = h.hand
	go h.loop()
	return h, nil
}

func (h *PushHub) loop() {
	defer close(h.done)
	ch := h.ps.Channel(redis.WithChannelSize(65536), redis.WithChannelSendTimeout(time.Minute))
	var buf []byte // the payload's bytes, reused (json reads bytes, go-redis hands a string)
	for msg := range ch {
		buf = append(buf[:0], msg.Payload...)
		var p pushed
		if err := json.Unmarshal(buf, &p); err != nil {
			continue
		}
		res := coordinator.Result(p)
		h.sink.Pushed(history.Push{T: history.KindPush, ID: res.ID, User: res.User, At: h.now(),
			State: history.Outcome(res.State), Version: res.Version, Copy: res.Copy})
		h.deliver(res)
	}
}

// pushed is a push's payload (a coordinator.Result) as the devices read
// it: the fields they do not use (path, sha256, base) are left undecoded,
// so the hub builds no strings for them. The conversion to
// coordinator.Result keeps the two in step (same fields, same tags).
type pushed struct {
	ID        string    `json:"id"`
	User      string    `json:"user,omitempty"`
	Path      string    `json:"-"`
	State     string    `json:"state"`
	Base      int64     `json:"-"`
	Version   int64     `json:"version,omitempty"`
	Head      int64     `json:"head,omitempty"`
	Copy      string    `json:"copy,omitempty"`
	SHA256    string    `json:"-"`
	Reason    string    `json:"reason,omitempty"`
	DecidedAt time.Time `json:"decided_at,omitzero"`
}

// pushTarget is what waits for an upload's push (waiter).
type pushTarget interface{ push(res coordinator.Result) }

// hand gives res to its waiter, if one is waiting. A second push for the
// same upload goes to the same waiter, which ignores it (the checker
// reports it from the history).
func (h *PushHub) hand(res coordinator.Result) {
	h.mu.Lock()
	w := h.waiters[res.ID]
	h.mu.Unlock()
	if w != nil {
		w.push(res)
	}
}

// wait registers w for an upload's push before the upload is staged.
func (h *PushHub) wait(id string, w pushTarget) {
	h.mu.Lock()
	h.waiters[id] = w
	h.mu.Unlock()
}

func (h *PushHub) forget(id string) {
	h.mu.Lock()
	delete(h.waiters, id)
	h.mu.Unlock()
}

// Close ends the subscription and waits for the loop.
func (h *PushHub) Close() {
	_ = h.ps.Close()
	<-h.done
}

// Degrade puts the scenario's push loss and delay, and lost (push
// outages, a mutant ignoring pushes; nil for none), between the channel
// and the devices. Call it before the first upload.
func (h *PushHub) Degrade(w scenarios.Wait, seed uint64, lost func() bool) {
	h.deliver = lossy(h.hand, w, seed, lost)
}
