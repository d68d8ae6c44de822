package sim

import (
	"testing"
	"time"

	"github.com/stormsim/stormsim/coordinator"
	"github.com/stormsim/stormsim/scenarios"
	"github.com/stormsim/stormsim/sim/fault"
)

// TestResultTTL: the TTL the read-back states is the coordinator's
// in whole seconds, less the embedded Redis clock's jumps, at least 1s.
func TestResultTTL(t *testing.T) {
	jump := func(d time.Duration) scenarios.Fault { return scenarios.Fault{Kind: fault.RedisClockJump, Jump: d} }
	tests := []struct {
		name     string
		ttl      time.Duration
		faults   []scenarios.Fault
		embedded bool
		step     time.Duration // the embedded clock's longest step
		want     time.Duration
	}{
		{"default", 0, nil, true, 0, 24 * time.Hour},
		{"whole seconds", 90*time.Second + 900*time.Millisecond, nil, true, 0, 90 * time.Second},
		{"clock jumps", 2 * time.Minute, []scenarios.Fault{jump(30 * time.Second), {Kind: fault.S3Error}, jump(time.Minute)}, true, 0, 30 * time.Second},
		{"jumps past the TTL", 2 * time.Minute, []scenarios.Fault{jump(time.Hour)}, true, 0, time.Second},
		{"jumps skipped on a real Redis", 2 * time.Minute, []scenarios.Fault{jump(30 * time.Second)}, false, 0, 2 * time.Minute},
		// Found in a 1,000,000-upload run: results expired ~1.1s before
		// their TTL, as the clock advanced in 1-2s steps.
		{"the embedded clock's longest step", 2 * time.Minute, nil, true, 1500 * time.Millisecond, 118500 * time.Millisecond},
		{"steps do not apply to a real Redis", 2 * time.Minute, nil, false, 1500 * time.Millisecond, 2 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := coordinator.New(coordinator.Config{Bucket: "b", Now: time.Now, ResultTTL: tt.ttl}, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			var jumps, step time.Duration
			if tt.embedded {
				jumps, step = fault.New(tt.faults, 1, time.Now, nil).ClockJumps(), tt.step
			}
			if got := resultTTL(c.Config().ResultTTL, jumps, step); got != tt.want {
				t.Errorf("resultTTL() = %s, want %s", got, tt.want)
			}
		})
	}
}
