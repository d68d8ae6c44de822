package workload

import (
	"testing"
	"time"
)

func TestEvents_Plan(t *testing.T) {
	sc := scenario(t, `
scheduler:
  days: 0.5
  new_users_per_hour: 400
  events_per_user: 2
  due_offsets: [{kind: fixed, value: 1m}, {kind: uniform, min: 1h, max: 2h}]
`)
	e := NewEvents(sc, 1)
	var n int64
	var last time.Duration
	users := map[int64]int{}
	for ev, ok := e.Next(); ok; ev, ok = e.Next() {
		if ev.Seq != n {
			t.Fatalf("seq %d, want %d", ev.Seq, n)
		}
		if ev.SignUp < last || ev.SignUp >= 12*time.Hour {
			t.Fatalf("sign-up %v out of order or window", ev.SignUp)
		}
		last = ev.SignUp
		off := ev.Due - ev.SignUp
		switch ev.Index {
		case 0:
			if off != time.Minute {
				t.Fatalf("event 0 offset %v, want 1m", off)
			}
		case 1:
			if off < time.Hour || off > 2*time.Hour {
				t.Fatalf("event 1 offset %v, want 1h..2h", off)
			}
		default:
			t.Fatalf("index %d", ev.Index)
		}
		users[ev.User]++
		n++
	}
	within(t, "events", float64(n), 12*400*2, 0.05)
	for u, c := range users {
		if c != 2 {
			t.Fatalf("user %d has %d events", u, c)
		}
	}
}

func TestEvents_CapAndNone(t *testing.T) {
	sc := scenario(t, "scheduler: {events: 10}")
	e := NewEvents(sc, 1)
	n := 0
	for _, ok := e.Next(); ok; _, ok = e.Next() {
		n++
	}
	if n != 10 {
		t.Errorf("%d events, want 10", n)
	}
	if _, ok := NewEvents(scenario(t, "phases: [{kind: burst, count: 1}]"), 1).Next(); ok {
		t.Error("events planned without a scheduler section")
	}
}
