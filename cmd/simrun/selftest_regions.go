package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/stormsim/stormsim/report"
	"github.com/stormsim/stormsim/sim/regions"
	"github.com/stormsim/stormsim/sim/selftest"
)

// selftestRegions runs the replicator's self-test cases (the real
// replicator and its mutants on multi-region scenarios) and returns their
// rows of the kill matrix.
func selftestRegions(ctx context.Context, dir string, first int, log io.Writer) ([]selftestRow, error) {
	var rows []selftestRow
	for i, c := range regions.SelfTestCases() {
		if ctx.Err() != nil {
			break
		}
		start := time.Now()
		runDir := filepath.Join(dir, fmt.Sprintf("%02d-%s-%s", first+i, c.Name, c.Scenario))
		res, sc, err := c.Run(ctx, runDir)
		if err != nil {
			return nil, fmt.Errorf("selftest %s on %s: %w", c.Name, c.Scenario, err)
		}
		r := report.BuildRegions(res, sc, "simrun selftest")
		if err := report.WriteAll(runDir, r, nil); err != nil {
			return nil, err
		}
		// matrixRow reads only the exported description of a case.
		row := matrixRow(selftest.Case{Name: c.Name, Scenario: c.Scenario, Breaks: c.Breaks, CaughtBy: c.CaughtBy},
			r, time.Since(start))
		rows = append(rows, row)
		fmt.Fprintf(log, "selftest: %-24s on %-19s %-8s %5.1fs  %s\n", c.Name, c.Scenario, row.Status, row.Seconds,
			strings.Join(row.CaughtBy, ", "))
	}
	return rows, nil
}
