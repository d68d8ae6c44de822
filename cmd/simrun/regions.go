package main

import (
	"context"

	"github.com/stormsim/stormsim/report"
	"github.com/stormsim/stormsim/scenarios"
	"github.com/stormsim/stormsim/sim/regions"
)

// runRegions runs a multi-region scenario (a regions: section) on embedded
// fakes, one set per region; shown is the output folder as the user named
// it (an s3:// URL is written to dir and uploaded when the run ends).
func runRegions(ctx context.Context, o runOptions, sc *scenarios.Scenario, seed uint64, dir, shown, rerun string) error {
	res, err := regions.Run(ctx, regions.Options{Scenario: sc, Seed: seed, OutDir: dir, CheckTimeout: o.checkTimeout})
	if err != nil {
		return err
	}
	r := report.BuildRegions(res, sc, rerun, report.WithPrices(o.loadedPrices))
	if err := report.WriteAll(dir, r, nil); err != nil {
		return err
	}
	printResults(o, r, rerun, shown)
	if ctx.Err() != nil || res.Interrupted {
		return exitError{exitInterrupted}
	}
	return o.verdictErr(r.Verdict)
}

// regionsFlags refuses the run flags a multi-region run does not honour,
// before anything is created.
func regionsFlags(o runOptions) error {
	switch {
	case o.repeat > 1:
		return usagef("--repeat is not supported with regions")
	case o.shard != "":
		return usagef("--shard is not supported with regions")
	case o.servers.enabled():
		return usagef("real servers (--redis, --s3, --external) are not supported with regions: each region runs embedded fakes")
	case o.startAt != "":
		return usagef("--start-at is not supported with regions: a regions run is not sharded")
	case o.metricsAddr != "":
		return usagef("--metrics-addr is not supported with regions: the regions runner exports no live metrics")
	case o.cpuProfile != "" || o.memProfile != "":
		return usagef("--cpuprofile and --memprofile are not supported with regions")
	}
	return nil
}
