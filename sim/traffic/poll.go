package traffic

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"

	"github.com/stormsim/stormsim/coordinator"
	"github.com/stormsim/stormsim/sim/history"
)

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
