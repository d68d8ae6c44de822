package model

import "testing"

func TestPlanGenerators_Pods(t *testing.T) {
	const mib = 1 << 20
	pod := Pod{CPU: 2, MemoryBytes: 4096 * mib}
	for _, tc := range []struct {
		name                 string
		cost                 GeneratorCost
		rate                 float64
		inFlight             int64
		forCPU, forMem, pods int
	}{
		// 1,000/s at 2 ms of CPU each is 2 cores: 2 / (2 x 0.7) -> 2 pods
		{"cpu-bound", GeneratorCost{CPUSecondsPerUpload: 0.002, BytesPerInFlight: 64 << 10}, 1000, 1000, 2, 1, 2},
		// 100,000 in flight at 100 KiB is 9.5 GiB: / (4 GiB x 0.7) -> 4 pods
		{"memory-bound", GeneratorCost{CPUSecondsPerUpload: 0.0001, BytesPerInFlight: 100 << 10}, 100, 100_000, 1, 4, 4},
		// exactly one pod's share is one pod, not two
		{"exact", GeneratorCost{CPUSecondsPerUpload: 0.0014, BytesPerInFlight: 1}, 1000, 1, 1, 1, 1},
		{"idle", GeneratorCost{CPUSecondsPerUpload: 0.001, BytesPerInFlight: 1}, 0, 0, 0, 0, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, err := PlanGenerators(tc.cost, pod, tc.rate, tc.inFlight)
			if err != nil {
				t.Fatal(err)
			}
			if g.ForCPU != tc.forCPU || g.ForMemory != tc.forMem || g.Pods != tc.pods {
				t.Fatalf("pods for CPU %d, memory %d, total %d; want %d, %d, %d", g.ForCPU, g.ForMemory, g.Pods, tc.forCPU, tc.forMem, tc.pods)
			}
		})
	}
}

func TestPlanGenerators_BadInput(t *testing.T) {
	ok := GeneratorCost{CPUSecondsPerUpload: 0.001, BytesPerInFlight: 1, Source: "x.json"}
	for _, tc := range []struct {
		name string
		cost GeneratorCost
		pod  Pod
	}{
		{"no cpu", ok, Pod{CPU: 0, MemoryBytes: 1}},
		{"no memory", ok, Pod{CPU: 1}},
		{"no cost", GeneratorCost{Source: "x.json"}, Pod{CPU: 1, MemoryBytes: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := PlanGenerators(tc.cost, tc.pod, 10, 10); err == nil {
				t.Fatal("no error")
			}
		})
	}
}
