package scheduler_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/stormsim/stormsim/coordinator/scheduler"
)

// t0 is a minute boundary all tests start from.
var t0 = time.Date(2025, 3, 7, 12, 0, 0, 0, time.UTC)

// manualClock is a settable clock, safe for concurrent use.
type manualClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *manualClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// table is a Store that is also a Register, as both implementations are.
type table interface {
	scheduler.Store
	scheduler.Register
}

// stores builds each implementation for a table test.
var stores = []struct {
	name string
	new  func(t *testing.T, now func() time.Time) table
}{
	{"memory", func(t *testing.T, now func() time.Time) table {
		return scheduler.NewMemStore(now, 0, 1)
	}},
	{"redis", func(t *testing.T, now func() time.Time) table {
		mr := miniredis.RunT(t)
		c := redis.NewClient(&redis.Options{Addr: mr.Addr()})
		t.Cleanup(func() { _ = c.Close() })
		return scheduler.NewRedisStore(c, "test")
	}},
}

func TestStore_Contract(t *testing.T) {
	ctx := context.Background()
	for _, tc := range stores {
		t.Run(tc.name, func(t *testing.T) {
			clk := &manualClock{t: t0}
			s := tc.new(t, clk.Now)
			if _, ok, _ := s.Next(ctx); ok {
				t.Fatal("Next on empty table: ok")
			}
			for i, d := range []time.Duration{90 * time.Second, 30 * time.Second, 150 * time.Second} {
				ev := scheduler.Event{ID: string(rune('a' + i)), Due: t0.Add(d), Payload: []byte{byte(i)}}
				if err := s.Put(ctx, ev); err != nil {
					t.Fatal(err)
				}
			}
			next, ok, err := s.Next(ctx)
			if err != nil || !ok || !next.Equal(t0.Add(30*time.Second)) {
				t.Fatalf("Next = %v %v %v, want t0+30s", next, ok, err)
			}
			due, _ := s.Due(ctx, t0.Add(100*time.Second), 10)
			if len(due) != 2 || due[0].ID != "b" || due[1].ID != "a" || due[1].Payload[0] != 0 {
				t.Fatalf("Due = %+v, want b, a", due)
			}
			if due, _ := s.Due(ctx, t0.Add(100*time.Second), 1); len(due) != 1 {
				t.Fatalf("Due limit 1 = %d events", len(due))
			}
			if won, _ := s.MarkDone(ctx, "b"); !won {
				t.Fatal("first MarkDone(b) = false")
			}
			if won, _ := s.MarkDone(ctx, "b"); won {
				t.Fatal("second MarkDone(b) = true")
			}
			if won, _ := s.MarkDone(ctx, "zz"); won {
				t.Fatal("MarkDone(unknown) = true")
			}
			next, _, _ = s.Next(ctx)
			if !next.Equal(t0.Add(90 * time.Second)) {
				t.Fatalf("Next after done = %v", next)
			}
			// The register.
			st, _ := s.NoteInsert(ctx, t0.Add(2*time.Minute), t0, t0.Add(-time.Minute))
			if !st.Lowered || !st.Target.Equal(t0.Add(2*time.Minute)) || st.Version != 1 {
				t.Fatalf("NoteInsert on empty register = %+v", st)
			}
			st, _ = s.NoteInsert(ctx, t0.Add(3*time.Minute), t0.Add(time.Second), t0.Add(-time.Minute))
			if st.Lowered || !st.Target.Equal(t0.Add(2*time.Minute)) || !st.LastPut.Equal(t0.Add(time.Second)) {
				t.Fatalf("NoteInsert later = %+v, want kept", st)
			}
			// Spent: the armed minute passed a whole minute ago.
			st, _ = s.NoteInsert(ctx, t0.Add(5*time.Minute), t0.Add(4*time.Minute), t0.Add(3*time.Minute))
			if !st.Lowered || !st.Target.Equal(t0.Add(5*time.Minute)) {
				t.Fatalf("NoteInsert over spent = %+v", st)
			}
			got, _ := s.ArmState(ctx)
			if set, _ := s.SetTarget(ctx, got.Version-1, time.Time{}); set {
				t.Fatal("SetTarget with old version succeeded")
			}
			if set, _ := s.SetTarget(ctx, got.Version, time.Time{}); !set {
				t.Fatal("SetTarget with current version failed")
			}
			if got, _ := s.ArmState(ctx); !got.Target.IsZero() {
				t.Fatalf("target after disarm = %v", got.Target)
			}
		})
	}
}

func TestMemStore_Stale_HidesInsertsWithinWindow(t *testing.T) {
	ctx := context.Background()
	clk := &manualClock{t: t0}
	s := scheduler.NewMemStore(clk.Now, 30*time.Second, 7)
	for i := range 100 {
		_ = s.Put(ctx, scheduler.Event{ID: string(rune('A' + i)), Due: t0})
	}
	due, _ := s.Due(ctx, t0, 1000)
	if len(due) == 100 {
		t.Fatal("all inserts visible at once despite staleness")
	}
	if won, _ := s.MarkDone(ctx, "A"); !won {
		t.Fatal("done-marks must see hidden events")
	}
	clk.Set(t0.Add(30 * time.Second))
	due, _ = s.Due(ctx, t0, 1000)
	if len(due) != 99 {
		t.Fatalf("after the window: %d visible, want 99", len(due))
	}
}

func TestArmTarget(t *testing.T) {
	m := time.Minute
	tests := []struct {
		name     string
		due, now time.Duration // from t0
		lead     time.Duration
		want     time.Duration
	}{
		{"inside a minute rounds up", 90 * time.Second, 10 * time.Second, 0, 2 * m},
		{"on a boundary stays", 2 * m, 10 * time.Second, 0, 2 * m},
		{"already due: next boundary", -time.Second, 10 * time.Second, 0, m},
		{"now on boundary: strictly after", 0, 0, 0, m},
		{"lead pushes a close target", 59 * time.Second, 57 * time.Second, 5 * time.Second, 2 * m},
		{"lead leaves a far target", 5 * m, 58 * time.Second, 5 * time.Second, 5 * m},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := scheduler.ArmTarget(t0.Add(tc.due), t0.Add(tc.now), m, tc.lead)
			if !got.Equal(t0.Add(tc.want)) {
				t.Fatalf("ArmTarget = t0+%v, want t0+%v", got.Sub(t0), tc.want)
			}
		})
	}
}
