package delivery

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/aws/aws-lambda-go/events"
	"github.com/redis/go-redis/v9"

	"github.com/stormsim/stormsim/coordinator"
)

func externalRedis(t *testing.T) redis.UniversalClient {
	t.Helper()
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// TestNewExternal_ConsumerWait: the run does not start while no process
// consumes the stream: it waits (saying so) and fails with ErrNoConsumer,
// and starts once a consumer has joined the group.
func TestNewExternal_ConsumerWait(t *testing.T) {
	tests := []struct {
		name    string
		join    bool
		wantErr error
	}{
		{"no coordinator", false, ErrNoConsumer},
		{"a coordinator joined", true, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rdb := externalRedis(t)
			ctx := context.Background()
			x := External{Stream: "k:events", Feedback: "k:feedback", ConsumerWait: 500 * time.Millisecond, Log: &strings.Builder{}}
			if tc.join {
				// What `simrun coordinator` does at start (a first XREADGROUP
				// would create the consumer too, on Redis but not miniredis).
				q, err := coordinator.NewQueue(rdb, coordinator.QueueConfig{Stream: x.Stream})
				if err != nil {
					t.Fatal(err)
				}
				if err := q.Ensure(ctx); err != nil {
					t.Fatal(err)
				}
				if err := rdb.XGroupCreateConsumer(ctx, x.Stream, "coordinators", "c1").Err(); err != nil {
					t.Fatal(err)
				}
			}
			h, err := NewFeed(ctx, rdb, x, nil)
			if h != nil {
				h.Close()
			}
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("NewFeed = %v, want %v", err, tc.wantErr)
			}
			log := x.Log.(*strings.Builder).String()
			if !tc.join {
				for _, want := range []string{"waiting up to 500ms", "coordinators", "k:events"} {
					if !strings.Contains(log, want) {
						t.Errorf("log %q does not say %q", log, want)
					}
				}
				if !strings.Contains(err.Error(), "--consumer-wait") {
					t.Errorf("error %q does not name --consumer-wait", err)
				}
			}
		})
	}
}

// TestExternalHandler_Handle_TimeoutSaysWhy: an event nobody finishes
// times out with the consumer group's state, and the run's diagnosis
// names it.
func TestExternalHandler_Handle_TimeoutSaysWhy(t *testing.T) {
	rdb := externalRedis(t)
	ctx := context.Background()
	h, err := NewFeed(ctx, rdb, External{Stream: "k:events", Feedback: "k:feedback", Wait: 100 * time.Millisecond}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if d := h.Diagnosis(); d != "" {
		t.Errorf("diagnosis before any timeout: %q", d)
	}
	var rec events.S3EventRecord
	rec.S3.Bucket.Name, rec.S3.Object.Key = "b", "staging/u/1"
	err = h.Handle(ctx, events.S3Event{Records: []events.S3EventRecord{rec, rec}})
	if err == nil || !strings.Contains(err.Error(), "no coordinator process consumed them") {
		t.Fatalf("handle = %v", err)
	}
	d := h.Diagnosis()
	for _, want := range []string{"2 event(s) not finished", "100ms", "no coordinator process consumed them", "k:events"} {
		if !strings.Contains(d, want) {
			t.Errorf("diagnosis %q does not say %q", d, want)
		}
	}
}
