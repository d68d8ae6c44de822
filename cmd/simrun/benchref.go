package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/stormsim/stormsim/coordinator"
	"github.com/stormsim/stormsim/scenarios"
	"github.com/stormsim/stormsim/sim/bench"
)

// references are what the bench compares a run with: the reference
// pipeline (the coordinator's own steps in a tight loop), a vegeta attack
// of 1 KiB PUTs and the devices' staging path, each on fresh embedded
// fakes in this process.
type references struct {
	pipeline, vegeta, device bench.OpRate
}

// referenceTime is how long each reference runs: long enough for
// thousands of samples, short enough that a bench stays well under two
// minutes beside the operations and the run.
const referenceTime = 3 * time.Second

func measureReferences(ctx context.Context, sc *scenarios.Scenario, workers int) (references, error) {
	var r references
	o := bench.ReferenceOptions{Workers: workers, Duration: referenceTime, Size: 1024,
		Coordinator: coordinator.Config{Strategy: sc.Coordinator.Strategy, LockTTL: sc.Coordinator.LockTTL,
			ResultTTL: sc.Coordinator.ResultTTL}}
	var err error
	fmt.Fprintf(os.Stderr, "reference pipeline (1 KiB, %d workers, %v)...\n", o.Workers, o.Duration)
	if r.pipeline, err = bench.MeasureReference(ctx, o); err != nil {
		return r, err
	}
	fmt.Fprintf(os.Stderr, "vegeta PUTs and device staging PUTs (1 KiB, %d workers, %v each)...\n", o.Workers, o.Duration)
	if r.vegeta, err = bench.MeasureVegeta(ctx, o); err != nil {
		return r, err
	}
	if r.device, err = bench.MeasureDevicePut(ctx, o); err != nil {
		return r, err
	}
	return r, nil
}

// fill writes the references and the ratios into b (a ratio stays 0 when
// its denominator could not be measured).
func (r references) fill(b *benchReport) {
	b.ReferencePerSecond = r.pipeline.PerSec
	b.VegetaPutPerSecond = r.vegeta.PerSec
	b.DevicePutPerSecond = r.device.PerSec
	if r.pipeline.PerSec > 0 {
		b.RatioToReference = b.AchievedDecisionsPerSec / r.pipeline.PerSec
	}
	if r.vegeta.PerSec > 0 {
		b.DeviceToVegeta = r.device.PerSec / r.vegeta.PerSec
	}
}
