package model

import (
	"fmt"
	"math"
)

// GeneratorBusyShare is the share of a generator pod's CPU and memory a
// plan fills: the rest is headroom, so that the generators do not become
// the bottleneck (a harness-bound run is inconclusive).
const GeneratorBusyShare = 0.7

// GeneratorCost is what one generator process (simrun driving devices)
// spends, measured by a real run: CPU-seconds per upload and memory per
// upload in flight.
type GeneratorCost struct {
	CPUSecondsPerUpload float64
	BytesPerInFlight    float64
	Source              string // where the figures were measured
}

// Pod is a generator pod's size.
type Pod struct {
	CPU         float64 // cores
	MemoryBytes int64
}

// GeneratorPods is how many generator pods a plan's load needs: enough
// CPU for the planned rate and enough memory for the most uploads in
// flight, each filled to GeneratorBusyShare.
type GeneratorPods struct {
	Cost        GeneratorCost
	Pod         Pod
	Rate        float64 // planned uploads per second
	MaxInFlight int64
	ForCPU      int
	ForMemory   int
	Pods        int // the larger of the two
}

// PlanGenerators sizes the generator fleet for rate uploads/s with at
// most maxInFlight uploads in flight.
func PlanGenerators(c GeneratorCost, p Pod, rate float64, maxInFlight int64) (GeneratorPods, error) {
	switch {
	case p.CPU <= 0:
		return GeneratorPods{}, fmt.Errorf("plan generators: pod cpu %g: must be above 0", p.CPU)
	case p.MemoryBytes <= 0:
		return GeneratorPods{}, fmt.Errorf("plan generators: pod memory %d: must be above 0", p.MemoryBytes)
	case !(c.CPUSecondsPerUpload > 0) || !(c.BytesPerInFlight > 0):
		return GeneratorPods{}, fmt.Errorf("plan generators: cost from %s: CPU-seconds per upload %g and bytes per upload in flight %g must be above 0",
			c.Source, c.CPUSecondsPerUpload, c.BytesPerInFlight)
	}
	g := GeneratorPods{Cost: c, Pod: p, Rate: rate, MaxInFlight: maxInFlight}
	g.ForCPU = ceilPods(rate * c.CPUSecondsPerUpload / (p.CPU * GeneratorBusyShare))
	g.ForMemory = ceilPods(float64(maxInFlight) * c.BytesPerInFlight / (float64(p.MemoryBytes) * GeneratorBusyShare))
	g.Pods = max(g.ForCPU, g.ForMemory, 1)
	return g, nil
}

func ceilPods(x float64) int {
	// a relative hair of tolerance: 2.0000000001 pods of float error is 2
	return int(math.Ceil(x * (1 - 1e-9)))
}
