package coordinator

import (
	"fmt"
	"net/http"
	"strings"
	"time"
)

// EventsHeartbeat is how often an idle event stream sends a comment line,
// so proxies and clients notice a dead connection.
var EventsHeartbeat = 15 * time.Second

// Events returns the push stream handler: GET /v1/events with
// "Authorization: Bearer TOKEN" streams the user's results as Server-Sent
// Events ("event: result", data: a Result as JSON), the same documents
// that are published on PushChannel(user). A push is sent once and not
// replayed: a client that connects late, or loses the stream, polls
// GET /v1/uploads/{id} for what it missed.
func (c *Coordinator) Events(tokens Tokens) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/events", func(w http.ResponseWriter, r *http.Request) {
		user, ok := authorize(w, r, tokens)
		if !ok {
			return
		}
		ctx := r.Context()
		ps := c.rdb.Subscribe(ctx, c.PushChannel(user))
		defer ps.Close()
		if _, err := ps.Receive(ctx); err != nil { // the subscription is live
			httpError(w, http.StatusServiceUnavailable, "push channel unavailable")
			return
		}
		// A stream outlives the server's write timeout.
		rc := http.NewResponseController(w)
		_ = rc.SetWriteDeadline(time.Time{})
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Accel-Buffering", "no")
		w.WriteHeader(http.StatusOK)
		_, _ = fmt.Fprint(w, ": subscribed\n\n")
		if err := rc.Flush(); err != nil {
			return
		}
		beat := time.NewTicker(EventsHeartbeat)
		defer beat.Stop()
		msgs := ps.Channel()
		for {
			select {
			case <-ctx.Done():
				return
			case <-beat.C:
				_, err := fmt.Fprint(w, ": ping\n\n")
				if err != nil || rc.Flush() != nil {
					return
				}
			case m, ok := <-msgs:
				if !ok {
					return
				}
				// Results are single-line JSON; SSE data must not hold a
				// bare newline.
				data := strings.ReplaceAll(m.Payload, "\n", "")
				_, err := fmt.Fprintf(w, "event: result\ndata: %s\n\n", data)
				if err != nil || rc.Flush() != nil {
					return
				}
			}
		}
	})
	return mux
}
