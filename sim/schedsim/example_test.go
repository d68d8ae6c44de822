package schedsim_test

import (
	"context"
	"fmt"
	"time"

	"github.com/stormsim/stormsim/sim/schedsim"
)

// A day of sign-up reminders, the self-rescheduling rule against polling
// every five minutes, on the same events.
func Example() {
	cfg := schedsim.Config{
		Strategy: "self", Compare: []string{"poll"},
		Duration: 24 * time.Hour, NewUsersPerHour: 200,
		DueOffsets: []schedsim.Dist{schedsim.Uniform(time.Hour, 3*time.Hour)},
		Interval:   5 * time.Minute,
		Seed:       1,
	}
	res, err := schedsim.Run(context.Background(), cfg, nil)
	if err != nil {
		panic(err)
	}
	for _, s := range res.Strategies {
		fmt.Printf("%s: ok=%v theory=%.0fs mean within 2 s of it: %v\n", s.Strategy, s.OK(),
			s.TheoryMeanSeconds, s.Lateness.Mean > s.TheoryMeanSeconds-2 && s.Lateness.Mean < s.TheoryMeanSeconds+2)
	}
	// Output:
	// self: ok=true theory=30s mean within 2 s of it: true
	// poll: ok=true theory=150s mean within 2 s of it: true
}
