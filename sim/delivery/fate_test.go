package delivery

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

func TestDelivery_Fate(t *testing.T) {
	tests := []struct {
		name      string
		fate      EventFate
		wantCalls int64
		minDelay  time.Duration
	}{
		{"drop", EventFate{Drop: true}, 0, 0},
		{"duplicate", EventFate{Duplicate: true}, 2, 0},
		{"delay", EventFate{Delay: 150 * time.Millisecond}, 1, 150 * time.Millisecond},
		{"hold back", EventFate{HoldBack: 100 * time.Millisecond}, 1, 100 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int64
			d := New(Config{Workers: 2}, func(context.Context, events.S3Event) error {
				calls.Add(1)
				return nil
			})
			defer d.Close()
			d.SetFate(func(events.S3EventRecord) EventFate { return tt.fate })
			began := time.Now()
			d.Emit("b", "staging/u/x", 1, began)
			if err := d.Wait(context.Background()); err != nil {
				t.Fatal(err)
			}
			if took := time.Since(began); took < tt.minDelay {
				t.Errorf("delivered after %v, want at least %v", took, tt.minDelay)
			}
			if calls.Load() != tt.wantCalls {
				t.Errorf("%d invocations, want %d", calls.Load(), tt.wantCalls)
			}
		})
	}
}

func TestDelivery_DrainSweepsUntilClean(t *testing.T) {
	d := New(Config{Workers: 1}, func(context.Context, events.S3Event) error { return nil })
	defer d.Close()
	var begun, sweeps atomic.Int64
	left := int64(3) // the first sweep finds work, the next finds none
	d.SetDrain(func() { begun.Add(1) }, func(context.Context) (int, error) {
		sweeps.Add(1)
		n := left
		left = 0
		return int(n), nil
	})
	release := d.Hold()
	done := make(chan error, 1)
	go func() { done <- d.Wait(context.Background()) }()
	select {
	case <-done:
		t.Fatal("Wait returned while work was held")
	case <-time.After(100 * time.Millisecond):
	}
	release()
	release() // idempotent
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := d.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	if begun.Load() != 1 || sweeps.Load() != 3 {
		t.Errorf("begin ran %d times, sweep %d times; want 1 and 3 (work, clean, clean)", begun.Load(), sweeps.Load())
	}
	if d.Pending() != 0 {
		t.Errorf("%d pending after the drain", d.Pending())
	}
}
