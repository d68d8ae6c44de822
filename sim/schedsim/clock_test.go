package schedsim_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/stormsim/stormsim/coordinator/scheduler"
	"github.com/stormsim/stormsim/sim/history"
	"github.com/stormsim/stormsim/sim/schedsim"
)

var t0 = time.Date(2025, 1, 6, 0, 0, 0, 0, time.UTC)

func TestVirtual_RunsInTimeOrderTiesFIFO(t *testing.T) {
	v := schedsim.NewVirtual(t0)
	var got []int
	add := func(d time.Duration, id int) schedsim.Timer {
		return v.AfterFunc(d, func() { got = append(got, id) })
	}
	add(3*time.Second, 3)
	add(time.Second, 1)
	add(time.Second, 2) // tie: after 1
	stopped := add(2*time.Second, 99)
	v.AfterFunc(1500*time.Millisecond, func() {
		add(0, 4) // scheduled from a callback, at 1.5 s
	})
	if !stopped.Stop() || stopped.Stop() {
		t.Fatal("Stop should succeed once")
	}
	v.RunUntil(t0.Add(10 * time.Second))
	want := []int{1, 2, 4, 3}
	if len(got) != len(want) {
		t.Fatalf("order %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("order %v, want %v", got, want)
		}
	}
	if !v.Now().Equal(t0.Add(10 * time.Second)) {
		t.Fatalf("clock at %v after RunUntil", v.Now())
	}
}

func TestRule_Arm(t *testing.T) {
	tests := []struct {
		name        string
		cfg         schedsim.RuleConfig
		arms        []time.Duration // Arm calls at t0, for minute t0+d
		wantFires   int
		wantInside  time.Duration // every fire in [t0+wantInside, +1m)
		wantMissed  int64
		wantThrottl int64
	}{
		{"fires inside the minute", schedsim.RuleConfig{Jitter: schedsim.Uniform(0, time.Minute)},
			[]time.Duration{2 * time.Minute}, 1, 2 * time.Minute, 0, 0},
		{"later update replaces", schedsim.RuleConfig{},
			[]time.Duration{2 * time.Minute, 5 * time.Minute}, 1, 5 * time.Minute, 0, 0},
		{"update after the minute: missed", schedsim.RuleConfig{UpdateDelay: 90 * time.Second},
			[]time.Duration{time.Minute}, 0, 0, 1, 0},
		{"throttled updates apply in order", schedsim.RuleConfig{UpdateRate: 1.0 / 30, RetryBudget: time.Minute},
			[]time.Duration{3 * time.Minute, 4 * time.Minute, 5 * time.Minute}, 1, 5 * time.Minute, 0, 2},
		{"throttled beyond the retry budget: rejected", schedsim.RuleConfig{UpdateRate: 1.0 / 30},
			[]time.Duration{3 * time.Minute, 4 * time.Minute}, 1, 3 * time.Minute, 0, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := schedsim.NewVirtual(t0)
			var fires []time.Time
			r := schedsim.NewRule(v, tc.cfg, rand.New(rand.NewPCG(1, 2)), func(at time.Time) {
				fires = append(fires, at)
			}, nil)
			for _, d := range tc.arms {
				if err := r.Arm(context.Background(), t0.Add(d)); err != nil && !errors.Is(err, schedsim.ErrThrottled) {
					t.Fatal(err)
				}
			}
			v.RunUntil(t0.Add(time.Hour))
			if len(fires) != tc.wantFires {
				t.Fatalf("%d fires %v, want %d", len(fires), fires, tc.wantFires)
			}
			for _, f := range fires {
				if f.Before(t0.Add(tc.wantInside)) || !f.Before(t0.Add(tc.wantInside+time.Minute)) {
					t.Fatalf("fire at %v outside minute t0+%v", f.Sub(t0), tc.wantInside)
				}
			}
			st := r.Stats()
			if st.MissedFires != tc.wantMissed || st.Throttled != tc.wantThrottl {
				t.Fatalf("stats %+v, want missed %d throttled %d", st, tc.wantMissed, tc.wantThrottl)
			}
		})
	}
}

func TestRule_DuplicateFire(t *testing.T) {
	v := schedsim.NewVirtual(t0)
	n := 0
	r := schedsim.NewRule(v, schedsim.RuleConfig{DuplicateFire: 0.5}, rand.New(rand.NewPCG(1, 2)), func(time.Time) { n++ }, nil)
	for i := range 1000 {
		_ = r.Arm(context.Background(), t0.Add(time.Duration(2*i+1)*time.Minute))
		v.RunUntil(t0.Add(time.Duration(2*i+2) * time.Minute))
	}
	if st := r.Stats(); st.DuplicateFires < 400 || st.DuplicateFires > 600 || int64(n) != st.Fires {
		t.Fatalf("stats %+v, %d deliveries", st, n)
	}
}

// TestRun_Wall drives the same scheduler code on the real clock with a
// 50 ms "minute", concurrent deliveries and duplicates, under -race.
func TestRun_Wall(t *testing.T) {
	cfg := schedsim.Config{
		Compare: []string{schedsim.StrategyPoll, schedsim.StrategyOneShot},
		Wall:    true, Resolution: 50 * time.Millisecond, Interval: 100 * time.Millisecond,
		Duration: 1500 * time.Millisecond, Drain: 600 * time.Millisecond,
		NewUsersPerHour: 3600 * 200, // 200 per second
		DueOffsets:      []schedsim.Dist{schedsim.Uniform(0, 500*time.Millisecond)},
		Jitter:          schedsim.Uniform(0, 20*time.Millisecond),
		DuplicateFire:   0.3, UpdateDelay: 2 * time.Millisecond,
		HandlerTimePerEvent: 100 * time.Microsecond,
		Seed:                5,
	}
	var mu sync.Mutex
	n := 0
	res, err := schedsim.Run(context.Background(), cfg, func(history.Sched) { mu.Lock(); n++; mu.Unlock() })
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range res.Strategies {
		t.Logf("%-8s events=%d early=%d missed=%d dup=%d mean=%.3fs inv=%d", s.Strategy, s.Events, s.Early, s.Missed, s.Duplicates, s.Lateness.Mean, s.Invocations)
		if s.Events < 100 || !s.OK() || s.Errors > 0 {
			t.Errorf("%s: %+v", s.Strategy, s)
		}
	}
	if int64(n) != res.Main().Events {
		t.Fatalf("sink got %d of %d", n, res.Main().Events)
	}
}

func TestRun_RedisStore(t *testing.T) {
	cfg := day()
	cfg.Duration = 2 * time.Hour
	cfg.Store = "redis"
	cfg.DuplicateFire = 0.2
	cfg.Jitter = schedsim.Uniform(0, 30*time.Second)
	cfg.StoreLatency = 100 * time.Millisecond
	res, err := schedsim.Run(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range res.Strategies {
		if s.Events == 0 || !s.OK() || s.Errors > 0 {
			t.Errorf("%s: %+v", s.Strategy, s)
		}
	}
}

var _ scheduler.Rule = (*schedsim.Rule)(nil)
