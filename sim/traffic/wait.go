package traffic

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/stormsim/stormsim/coordinator"
	"github.com/stormsim/stormsim/sim/history"
)

// A staged upload waits for its outcome without a goroutine of its own:
// the push hub hands it the push, a timer runs each poll in the timer's
// own short-lived goroutine, and whichever learns the outcome first ends
// the upload. At 100,000 uploads in flight a goroutine parked per waiting
// upload cost more in stacks (grown by the hashing, presigning and HTTP
// work before the wait) than the rest of the upload's state together.

// Waiter states.
const (
	waitStaging = iota // the device is still staging; a push is kept for later
	waitIdle           // waiting for the timer or a push
	waitPolling        // a poll is in progress; a push is kept for after it
	waitDone           // the outcome is known or given up; ended
)

// waiter is one upload from its start to its end.
type waiter struct {
	u         history.Upload
	dev       *Devices
	ctx       context.Context
	end       func() // called once when the upload has ended
	fileIndex int
	hostile   string // the hostile input it carries ("" for none)

	mu       sync.Mutex // guards everything below
	state    int
	pushed   *coordinator.Result // a push that came while staging or polling
	timer    *time.Timer
	stopCtx  func() bool
	deadline time.Time     // the poll timeout
	due      time.Time     // the next poll; its lateness is the harness's
	interval time.Duration // the back-off schedule's next interval
	outOf    bool          // out of polls: only a push can still come
}

// await starts waiting for the outcome of the staged upload: the poll
// schedule and the timeout run on one timer.
func (w *waiter) await() {
	dev := w.dev
	now := dev.Now()
	delay := dev.cfg.firstDelay
	if dev.cfg.autoFirst {
		delay = dev.est.firstPoll(w.u.Size)
	}
	w.mu.Lock()
	if p := w.pushed; p != nil {
		// The push came while the device was still staging.
		w.state = waitDone
		w.mu.Unlock()
		w.finish(*p, true)
		return
	}
	w.state = waitIdle
	w.deadline, w.due, w.interval = now.Add(dev.cfg.pollTimeout), now.Add(delay), dev.cfg.pollInterval
	w.timer = time.AfterFunc(min(delay, dev.cfg.pollTimeout), w.fire)
	w.stopCtx = context.AfterFunc(w.ctx, w.cancelled)
	w.mu.Unlock()
}

// push is a push for this upload (PushHub).
func (w *waiter) push(res coordinator.Result) {
	w.mu.Lock()
	switch w.state {
	case waitStaging, waitPolling:
		if w.pushed == nil {
			w.pushed = &res
		}
		w.mu.Unlock()
		return
	case waitDone:
		w.mu.Unlock()
		return
	}
	w.stopLocked()
	w.mu.Unlock()
	w.finish(res, true)
}

// cancelled ends a waiting upload when the run stops the uploads; a poll
// in progress sees the cancellation itself.
func (w *waiter) cancelled() {
	w.mu.Lock()
	if w.state != waitIdle {
		w.mu.Unlock()
		return
	}
	w.stopLocked()
	w.mu.Unlock()
	w.finish(coordinator.Result{}, false)
}

// stopLocked ends the wait: no timer, push or cancellation acts after it.
func (w *waiter) stopLocked() {
	w.state = waitDone
	if w.timer != nil {
		w.timer.Stop()
	}
	if w.stopCtx != nil {
		w.stopCtx()
	}
}

// fire is the timer: the next poll, or the timeout.
func (w *waiter) fire() {
	dev := w.dev
	w.mu.Lock()
	if w.state != waitIdle {
		w.mu.Unlock()
		return
	}
	if w.outOf || w.due.After(w.deadline) {
		w.stopLocked()
		w.mu.Unlock()
		w.finish(coordinator.Result{}, false) // the timeout
		return
	}
	w.state = waitPolling
	due := w.due
	w.mu.Unlock()

	dev.Sink.TimerLate(dev.Now().Sub(due))
	res, err := dev.poll(w.ctx, &w.u)
	w.u.Polls++
	now := dev.Now()

	w.mu.Lock()
	switch {
	case err == nil && res.State != coordinator.StatePending:
		w.stopLocked()
		w.mu.Unlock()
		w.finish(res, false)
		return
	case w.pushed != nil:
		p := *w.pushed
		w.stopLocked()
		w.mu.Unlock()
		w.finish(p, true)
		return
	case w.ctx.Err() != nil:
		w.stopLocked()
		w.mu.Unlock()
		w.finish(coordinator.Result{}, false)
		return
	}
	if dev.cfg.maxPolls > 0 && w.u.Polls >= dev.cfg.maxPolls {
		if !dev.cfg.push {
			w.stopLocked()
			w.mu.Unlock()
			w.finish(coordinator.Result{}, false)
			return
		}
		// Out of polls: wait for the push until the timeout.
		w.outOf = true
		w.state = waitIdle
		w.timer.Reset(max(w.deadline.Sub(now), 0))
		w.mu.Unlock()
		return
	}
	wait := w.interval
	if dev.cfg.autoFirst && err == nil {
		age := now.Sub(w.u.Staged)
		dev.est.pending(age)
		wait = min(dev.est.nextPoll(age, w.interval), dev.cfg.maxInterval)
	}
	w.due = now.Add(wait)
	w.interval = min(time.Duration(float64(w.interval)*dev.cfg.backoff), dev.cfg.maxInterval)
	w.state = waitIdle
	w.timer.Reset(max(min(wait, w.deadline.Sub(now)), 0))
	w.mu.Unlock()
}

// finish records the outcome res (zero when unknown; push when a push
// told it) and ends the upload. It runs once, after the waiter is done.
func (w *waiter) finish(res coordinator.Result, push bool) {
	dev, u := w.dev, &w.u
	if dev.cfg.push {
		dev.Push.forget(u.ID)
	}
	u.Push = push
	u.Done = dev.Now()
	decided := res.DecidedAt
	switch res.State {
	case coordinator.StateCommitted:
		u.Outcome, u.Version = history.OutcomeCommitted, res.Version
		dev.heads.learn(w.fileIndex, res.Version)
	case coordinator.StateConflict:
		u.Outcome, u.Copy = history.OutcomeConflict, res.Copy
		dev.heads.learn(w.fileIndex, res.Head)
	case coordinator.StateRejected:
		u.Outcome, u.Reason = history.OutcomeRejected, res.Reason
	default:
		u.Outcome = history.OutcomeUnknown
	}
	if !decided.IsZero() {
		dev.est.observe(decided.Sub(u.Staged))
	}
	kind := ""
	switch {
	case u.Outcome == history.OutcomeUnknown && w.ctx.Err() != nil:
		u.Error, kind = stoppedError(w.ctx.Err()), "stopped"
	case u.Outcome == history.OutcomeUnknown:
		kind = "timeout"
	}
	if w.hostile != "" && (u.Outcome == history.OutcomeCommitted || u.Outcome == history.OutcomeConflict) {
		// The coordinator took input it must refuse. The device records a
		// failure, which the nothing-dropped invariant reports.
		u.Error = "hostile upload (" + w.hostile + ") was accepted: " + string(u.Outcome)
		u.Outcome, kind = history.OutcomeError, "hostile-accepted"
	}
	dev.Sink.Finished(u, decided, kind)
	w.end()
}

// poll asks the result API once and records the answer.
func (dev *Devices) poll(ctx context.Context, u *history.Upload) (coordinator.Result, error) {
	var res coordinator.Result
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, dev.API+"/v1/uploads/"+u.ID, nil)
	if err == nil {
		req.Header["Authorization"] = dev.bearer(u.User)
		var resp *http.Response
		resp, err = dev.Env.HTTP.Do(req)
		if err == nil {
			buf := pollBufs.Get().(*bytes.Buffer)
			buf.Reset()
			if resp.StatusCode == http.StatusOK {
				if _, err = buf.ReadFrom(io.LimitReader(resp.Body, 64<<10)); err == nil {
					err = json.Unmarshal(buf.Bytes(), &res)
				}
			} else {
				// The API's own words ("no such upload") name the cause.
				var body struct {
					Error string `json:"error"`
				}
				_, _ = buf.ReadFrom(io.LimitReader(resp.Body, 1<<10))
				_ = json.Unmarshal(buf.Bytes(), &body)
				err = fmt.Errorf("result API: HTTP %d %s", resp.StatusCode, body.Error)
			}
			pollBufs.Put(buf)
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}
	p := history.Poll{T: history.KindPoll, ID: u.ID, At: dev.Now(), State: history.Outcome(res.State), Version: res.Version, Copy: res.Copy}
	if err != nil {
		p.State, p.Error = "error", err.Error()
	}
	dev.Sink.Polled(p, err)
	return res, err
}

// pollBufs recycle the buffers polls read the API's answers into.
var pollBufs = sync.Pool{New: func() any { return bytes.NewBuffer(make([]byte, 0, 512)) }}

// bearer is the Authorization header value of user's polls. A device keeps
// its token (as a phone does) rather than being issued one per request:
// the values are built once per user and shared, read only, by every
// request that carries them.
func (dev *Devices) bearer(user string) []string {
	dev.tokensMu.RLock()
	v, ok := dev.tokens[user]
	dev.tokensMu.RUnlock()
	if ok {
		return v
	}
	v = []string{"Bearer " + dev.Tokens.Token(user)}
	dev.tokensMu.Lock()
	defer dev.tokensMu.Unlock()
	if dev.tokens == nil {
		dev.tokens = make(map[string][]string)
	}
	dev.tokens[user] = v
	return v
}
