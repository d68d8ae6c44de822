package scenarios

import (
	"time"

	"github.com/stormsim/stormsim/coordinator"
)

// Defaults, in one place (README.md repeats them as a table). A key absent
// from a file keeps its default; a distribution given with a "kind"
// replaces the default distribution whole, one given without a kind edits
// the default's fields.
//
//	seed                          1
//	duration                      0 (phases decide)
//	uploads                       0 (no cap)
//	drain                         30s
//	model                         open
//	closed.devices                0 (required for the closed model)
//	closed.think                  exponential, mean 1s
//	closed.iterations             0 (until duration/uploads)
//	population.users              100
//	population.devices_per_user   2
//	population.files_per_user     10
//	population.hot_files          1
//	population.hot_share          0.1
//	population.stale_share        0
//	population.max_staleness      1
//	sizes                         lognormal, median 16KiB, sigma 1, cap 64MiB
//	sizes.multipart_threshold     8MiB
//	sizes.part_size               5MiB
//	wait.push                     true
//	wait.push_loss                0
//	wait.push_delay               exponential, mean 20ms, cap 2s
//	wait.poll.first_delay         auto
//	wait.poll.interval            200ms
//	wait.poll.backoff             1.5
//	wait.poll.max_interval        2s
//	wait.poll.max_polls           30
//	wait.poll.timeout             30s
//	coordinator.strategy          redis-lock
//	coordinator.concurrency       64
//	coordinator.lock_ttl          10s
//	coordinator.retries           2
//	coordinator.usage_stream_max_len 10000
//	delivery.delay                lognormal, median 10ms, sigma 0.5, cap 1s
//	delivery.duplicate            0
//	delivery.reorder              0
//	delivery.queue_size           65536
//	abort_on_fail                 false
//	faults[].probability          1
//	faults[].code (s3-error)      0 = 503
//
// A scheduler section starts from these (Default().Scheduler is nil):
//
//	scheduler.strategy            self-rescheduling
//	scheduler.days                1
//	scheduler.clock               virtual
//	scheduler.new_users_per_hour  100
//	scheduler.events_per_user     3
//	scheduler.due_offsets         [uniform 1m..24h]
//	scheduler.interval            5m
//	scheduler.jitter              uniform 0..60s
//	scheduler.duplicate_fire      0
//	scheduler.update_delay        fixed 500ms
//	scheduler.update_rate_limit   0 (none)
//	scheduler.staleness           0
//	scheduler.handler_time_per_event 5ms
//	scheduler.store               memory
//	scheduler.events              0 (no cap)
const (
	KiB = 1 << 10
	MiB = 1 << 20
	GiB = 1 << 30
)

// Default returns a scenario holding every default. It has no phases, so it
// does not validate on its own.
func Default() *Scenario {
	return &Scenario{
		Seed:  1,
		Drain: 30 * time.Second,
		Model: "open",
		Closed: ClosedModel{
			Think: Dist{Kind: "exponential", Mean: 1},
		},
		Population: Population{
			Users:          100,
			DevicesPerUser: 2,
			FilesPerUser:   10,
			HotFiles:       1,
			HotShare:       0.1,
			MaxStaleness:   1,
		},
		Sizes: Sizes{
			Dist:               Dist{Kind: "lognormal", Median: 16 * KiB, Sigma: 1, Cap: 64 * MiB},
			MultipartThreshold: 8 * MiB,
			PartSize:           5 * MiB,
		},
		Wait: Wait{
			Push:      true,
			PushDelay: Dist{Kind: "exponential", Mean: 0.020, Cap: 2},
			Poll: Poll{
				FirstDelay:  "auto",
				Interval:    200 * time.Millisecond,
				Backoff:     1.5,
				MaxInterval: 2 * time.Second,
				MaxPolls:    30,
				Timeout:     30 * time.Second,
			},
		},
		Coordinator: Coordinator{
			Strategy:    coordinator.StrategyRedisLock,
			Concurrency: 64,
			LockTTL:     10 * time.Second,
			ResultTTL:   24 * time.Hour,
			Retries:     2,
			// The coordinator's own default, spelt out so validation and
			// the docs see it.
			UsageStreamMaxLen: coordinator.UsageStreamMaxLen,
		},
		Delivery: Delivery{
			Delay:     Dist{Kind: "lognormal", Median: 0.010, Sigma: 0.5, Cap: 1},
			QueueSize: 65536,
		},
	}
}

// DefaultScheduler returns the defaults a scheduler section starts from.
func DefaultScheduler() *Scheduler {
	return &Scheduler{
		Strategy:            "self-rescheduling",
		Days:                1,
		Clock:               "virtual",
		NewUsersPerHour:     100,
		EventsPerUser:       3,
		DueOffsets:          []Dist{{Kind: "uniform", Min: 60, Max: 24 * 3600}},
		Interval:            5 * time.Minute,
		Jitter:              Dist{Kind: "uniform", Min: 0, Max: 60},
		UpdateDelay:         Dist{Kind: "fixed", Value: 0.5},
		HandlerTimePerEvent: 5 * time.Millisecond,
		Store:               "memory",
	}
}

// defaultFault is the starting value of each faults[] entry.
func defaultFault() Fault { return Fault{Probability: 1} }
