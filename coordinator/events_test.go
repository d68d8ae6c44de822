package coordinator_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stormsim/stormsim/coordinator"
)

func TestCoordinator_Events_StreamsTheUsersResults(t *testing.T) {
	e := newTestEnv(t, coordinator.StrategyRedisLock, nil)
	tokens := coordinator.Tokens{Secret: []byte("s")}
	srv := httptest.NewServer(e.c.Events(tokens))
	defer srv.Close()

	t.Run("no token", func(t *testing.T) {
		resp, err := http.Get(srv.URL + "/v1/events")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("status %d", resp.StatusCode)
		}
	})

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/v1/events", nil)
	req.Header.Set("Authorization", "Bearer "+tokens.Token("alice"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 200 || ct != "text/event-stream" {
		t.Fatalf("status %d, content type %q", resp.StatusCode, ct)
	}
	lines := bufio.NewScanner(resp.Body)
	if !lines.Scan() || !strings.HasPrefix(lines.Text(), ":") {
		t.Fatalf("first line %q, want the subscribed comment", lines.Text())
	}
	// bob's upload must not reach alice's stream; alice's must.
	for _, u := range []coordinator.Upload{{ID: "b1", User: "bob", Path: "x", Device: "d"}, {ID: "a1", User: "alice", Path: "x", Device: "d"}} {
		if err := e.c.HandleEvent(ctx, e.stage(u, content(1))); err != nil {
			t.Fatal(err)
		}
	}
	var event string
	for lines.Scan() {
		l := lines.Text()
		if v, ok := strings.CutPrefix(l, "event: "); ok {
			event = v
			continue
		}
		data, ok := strings.CutPrefix(l, "data: ")
		if !ok {
			continue
		}
		var r coordinator.Result
		if err := json.Unmarshal([]byte(data), &r); err != nil {
			t.Fatal(err)
		}
		if event != "result" || r.ID != "a1" || r.User != "alice" || r.State != coordinator.StateCommitted {
			t.Fatalf("event %q: %+v", event, r)
		}
		return
	}
	t.Fatalf("stream ended: %v", lines.Err())
}
