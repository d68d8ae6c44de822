package traffic

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stormsim/stormsim/coordinator"
	"github.com/stormsim/stormsim/sim/env"
	"github.com/stormsim/stormsim/sim/history"
)

// pushSink keeps the pushes the hub records.
type pushSink struct {
	discardSink
	pushes chan history.Push
}

func (s pushSink) Pushed(p history.Push) { s.pushes <- p }

// A push reaches its waiting device with every field the device reads
// (the hub decodes only those), and is recorded as it arrived.
func TestPushHub_Hand_DeliversResult(t *testing.T) {
	e, err := env.NewEmbedded(env.EmbeddedOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ctx := context.Background()
	sink := pushSink{pushes: make(chan history.Push, 4)}
	h, err := NewPushHub(ctx, e.Redis, "push:*", time.Now, sink)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	decided := time.Date(2026, 12, 2, 12, 0, 0, 123456789, time.UTC)
	for _, sent := range []coordinator.Result{
		{ID: "up-1", User: "u1", Path: "a.txt", State: coordinator.StateCommitted, Base: 3, Version: 4, SHA256: "ab", DecidedAt: decided},
		{ID: "up-2", User: "u1", Path: "a.txt", State: coordinator.StateConflict, Base: 3, Head: 5, Copy: "files/u1/a (conflict).txt", DecidedAt: decided},
		{ID: "up-3", User: "u2", State: coordinator.StateRejected, Reason: "bad path", DecidedAt: decided},
	} {
		ch := make(chanTarget, 1)
		h.wait(sent.ID, ch)
		payload, err := json.Marshal(sent)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.Redis.Publish(ctx, "push:"+sent.User, payload).Err(); err != nil {
			t.Fatal(err)
		}
		got := <-ch
		h.forget(sent.ID)
		want := sent
		want.Path, want.SHA256, want.Base = "", "", 0 // not decoded: no device reads them
		if !got.DecidedAt.Equal(want.DecidedAt) {
			t.Errorf("%s: decided_at %v, want %v", sent.ID, got.DecidedAt, want.DecidedAt)
		}
		got.DecidedAt, want.DecidedAt = time.Time{}, time.Time{}
		if got != want {
			t.Errorf("push for %s = %+v, want %+v", sent.ID, got, want)
		}
		p := <-sink.pushes
		if p.ID != sent.ID || p.User != sent.User || string(p.State) != sent.State || p.Version != sent.Version || p.Copy != sent.Copy {
			t.Errorf("recorded push %+v, want the fields of %+v", p, sent)
		}
	}
}
