package sim_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/stormsim/stormsim/scenarios"
	"github.com/stormsim/stormsim/sim"
)

// Run a small scenario on the embedded fakes and read its verdict.
func ExampleRun() {
	sc, err := scenarios.Parse("example.yaml", []byte(`
name: example
seed: 1
drain: 10s
phases:
  - {kind: burst, count: 40, at: 0s, duration: 200ms}
population: {users: 5, devices_per_user: 2, files_per_user: 2, hot_files: 1, hot_share: 0.5}
coordinator: {strategy: redis-lock, concurrency: 4}
`))
	if err != nil {
		log.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "stormsim-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	res, err := sim.Run(context.Background(), sim.Options{Scenario: sc, Seed: sc.Seed, OutDir: dir})
	if err != nil {
		log.Fatal(err)
	}
	decided := res.Measure.Outcomes["committed"] + res.Measure.Outcomes["conflict"]
	fmt.Printf("planned %d, decided %d, invariants hold: %v\n", res.Planned, decided, res.Check.OK())
	// Output: planned 40, decided 40, invariants hold: true
}
