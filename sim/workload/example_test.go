package workload_test

import (
	"fmt"

	"github.com/stormsim/stormsim/scenarios"
	"github.com/stormsim/stormsim/sim/workload"
)

func Example() {
	sc, err := scenarios.Parse("example.yaml", []byte(`
phases:
  - {kind: burst, count: 3}
  - {kind: constant, rate: 2, duration: 1s}
population: {users: 10, files_per_user: 4, hot_files: 1, hot_share: 0.5}
sizes: {kind: fixed, value: 4KiB}
`))
	if err != nil {
		panic(err)
	}
	p := workload.NewPlan(sc, 42)
	for a, ok := p.Next(); ok; a, ok = p.Next() {
		fmt.Printf("#%d at %v %s size %d\n", a.Seq, a.At, a.Phase, a.Size)
	}
	n, _ := p.PlannedCount()
	fmt.Printf("%d uploads over %v\n", n, p.PlannedWindow())
	// Output:
	// #0 at 0s burst-0 size 4096
	// #1 at 0s burst-0 size 4096
	// #2 at 0s burst-0 size 4096
	// #3 at 0s constant-1 size 4096
	// #4 at 500ms constant-1 size 4096
	// 5 uploads over 1s
}
