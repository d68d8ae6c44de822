package killmatrix

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/stormsim/stormsim/report"
	"github.com/stormsim/stormsim/scenarios"
	"github.com/stormsim/stormsim/sim/regions"
	"github.com/stormsim/stormsim/sim/selftest"
)

// runRegions runs the selected replicator self-test cases (the real
// replicator and its mutants on multi-region scenarios) into dir,
// numbering their folders from first, and returns their rows of the kill
// matrix; each run's workload hash goes to seen with its scenario.
func runRegions(ctx context.Context, sel Selection, dir string, first int, log io.Writer,
	seen func(sc *scenarios.Scenario, hash string)) ([]Row, error) {
	var rows []Row
	for i, c := range regions.SelfTestCases() {
		if ctx.Err() != nil {
			break
		}
		if !sel.picks(RegionsCase(c)) {
			continue
		}
		start := time.Now()
		runDir := filepath.Join(dir, RegionsRunDirName(first+i, c))
		if err := os.MkdirAll(runDir, 0o755); err != nil {
			return nil, err
		}
		res, sc, err := c.Run(ctx, runDir)
		if err != nil {
			return nil, fmt.Errorf("selftest %s on %s: %w", c.Name, c.Scenario, err)
		}
		r := report.BuildRegions(res, sc, "simrun selftest")
		if err := report.WriteAll(runDir, r, nil); err != nil {
			return nil, err
		}
		seen(sc, r.WorkloadHash)
		row := RowOf(RegionsCase(c), r, time.Since(start))
		rows = append(rows, row)
		fmt.Fprintf(log, "selftest: %-24s on %-19s %-8s %5.1fs  %s\n", c.Name, c.Scenario, row.Status, row.Seconds,
			strings.Join(row.CaughtBy, ", "))
	}
	return rows, nil
}

// RegionsCase is a regions self-test case as the kill matrix judges it
// (RowOf reads only the exported description of a case).
func RegionsCase(c regions.SelfTestCase) selftest.Case {
	return selftest.Case{Name: c.Name, Scenario: c.Scenario, Breaks: c.Breaks, CaughtBy: c.CaughtBy}
}

// RegionsRunDirName names the folder of a regions self-test run under
// --out; i counts on from the single-region cases.
func RegionsRunDirName(i int, c regions.SelfTestCase) string {
	return fmt.Sprintf("%02d-%s-%s", i, c.Name, c.Scenario)
}
