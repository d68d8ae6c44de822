package report_test

import (
	"os"

	"github.com/stormsim/stormsim/report"
)

// A run's Results render as the terminal summary; the same value feeds
// JUnit, HTML, Charts and WriteAll.
func Example() {
	r := &report.Results{
		Verdict:  report.Fail,
		Reasons:  []string{"gate latency.p99 < 2s failed: 2.31s"},
		Scenario: "burst",
		Strategy: "lock",
		Seed:     42,
		Rerun:    "simrun --seed 42 scenarios/burst.yaml",
		Uploads:  report.Uploads{Total: 100, Committed: 80, Conflict: 20},
		Gates:    []report.Gate{{Expr: "latency.p99 < 2s", OK: false, Value: 2.31}},
		Invariants: []report.Invariant{
			{Name: "one-winner", OK: true},
		},
	}
	if err := report.Summary(os.Stdout, r); err != nil {
		panic(err)
	}
	// Output:
	// stormsim  scenario burst  strategy lock  seed 42  workload -
	// started -  duration 0s
	//
	// verdict: FAIL
	//   - gate latency.p99 < 2s failed: 2.31s
	//
	// uploads  total  committed   conflict    rejected  error     unknown
	//          100    80 (80.0%)  20 (20.0%)  0 (0.0%)  0 (0.0%)  0 (0.0%)
	// conflict rate 20.0% of decided uploads  multipart 0  bytes 0B
	//
	// polls per upload  mean  p50  p99  max  by push (0 polls)  total polls
	//                   0     0    0    0    0.0%               0
	//
	// latency                     p50  p90  p99  p99.9  max  mean  n
	//   planned -> outcome known  0s   0s   0s   0s     0s   0s    0
	//
	// throughput  planned/s  achieved/s  ratio  commits/s  uploads/s  max in flight
	//             0          0           0      0          0          0
	//
	// invariants              violations  examples
	//   ok        one-winner  0
	//
	// gates                     value
	//   FAIL  latency.p99 < 2s  2.31s
	//
	// rerun: simrun --seed 42 scenarios/burst.yaml
}
