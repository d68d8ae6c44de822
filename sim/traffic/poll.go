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

// await learns the outcome: the push if it comes first, otherwise polls on
// the configured schedule. decided is when the server decided (zero when
// the outcome stayed unknown).
func (dev *Devices) await(ctx context.Context, u *history.Upload, pushCh <-chan coordinator.Result) (coordinator.Result, time.Time) {
	deadline := time.NewTimer(dev.cfg.pollTimeout)
	defer deadline.Stop()
	delay := dev.cfg.firstDelay
	if dev.cfg.autoFirst {
		delay = dev.est.firstPoll(u.Size)
	}
	interval := dev.cfg.pollInterval
	t := time.NewTimer(delay)
	defer t.Stop()
	due := dev.Now().Add(delay) // when t should fire: its lateness is the harness's
	for {
		select {
		case res := <-pushCh:
			u.Push = true
			return res, res.DecidedAt
		case <-t.C:
			dev.Sink.TimerLate(dev.Now().Sub(due))
			res, err := dev.poll(ctx, u)
			u.Polls++
			if err == nil && res.State != coordinator.StatePending {
				return res, res.DecidedAt
			}
			if dev.cfg.maxPolls > 0 && u.Polls >= dev.cfg.maxPolls {
				if pushCh == nil {
					return coordinator.Result{}, time.Time{}
				}
				continue // out of polls: wait for the push until the timeout
			}
			wait := interval
			now := dev.Now()
			if dev.cfg.autoFirst && err == nil {
				age := now.Sub(u.Staged)
				dev.est.pending(age)
				wait = min(dev.est.nextPoll(age, interval), dev.cfg.maxInterval)
			}
			t.Reset(wait)
			due = now.Add(wait)
			interval = min(time.Duration(float64(interval)*dev.cfg.backoff), dev.cfg.maxInterval)
		case <-deadline.C:
			return coordinator.Result{}, time.Time{}
		case <-ctx.Done():
			return coordinator.Result{}, time.Time{}
		}
	}
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
