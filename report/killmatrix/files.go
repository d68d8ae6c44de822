package killmatrix

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/stormsim/stormsim/report"
	"github.com/stormsim/stormsim/scenarios"
	"github.com/stormsim/stormsim/sim/selftest"
)

// Cell is one mutant (or the real system) on one scenario file over
// every run.
type Cell struct {
	Mutant   string `json:"mutant"`
	Scenario string `json:"scenario"`
	Runs     int    `json:"runs"`
	// Caught counts the runs some gate or invariant failed (for the real
	// system: the runs that did not pass); CaughtBy lists what failed, with
	// how many runs each.
	Caught   int            `json:"caught"`
	CaughtBy map[string]int `json:"caught_by"`
	Verdicts []string       `json:"verdicts"`
	Seconds  float64        `json:"seconds"`
}

// FilesReport is the kill matrix over scenario files (simrun selftest
// --matrix --json prints it).
type FilesReport struct {
	OK        bool     `json:"ok"`
	Runs      int      `json:"runs"`
	Scenarios []string `json:"scenarios"`
	Cells     []Cell   `json:"cells"`
	// Survivors are mutants no scenario caught in every run; Failures are
	// scenarios the real system did not pass every time.
	Survivors []string `json:"survivors"`
	Failures  []string `json:"failures"`
	Seconds   float64  `json:"duration_seconds"`
}

// RunFiles runs the real system, then every case, runs times on each
// scenario. A scheduler mutant only runs on scheduler scenarios and an
// upload mutant only on upload scenarios: elsewhere it is the real system.
func RunFiles(ctx context.Context, scs []*scenarios.Scenario, cases []selftest.Case, runs int, dir string, log io.Writer) (*FilesReport, error) {
	start := time.Now()
	rep := &FilesReport{Runs: runs, Survivors: []string{}, Failures: []string{}}
	for _, sc := range scs {
		rep.Scenarios = append(rep.Scenarios, sc.Name)
	}
	rows := append([]selftest.Case{{Name: selftest.RealName}}, cases...)
	killed := map[string]bool{}
	for _, c := range rows {
		for _, sc := range scs {
			if c.Mutant() && c.UploadOnly() == (sc.Scheduler != nil) {
				continue
			}
			cell := Cell{Mutant: c.Name, Scenario: sc.Name, Runs: runs, CaughtBy: map[string]int{}}
			for i := range runs {
				if ctx.Err() != nil {
					return rep, nil
				}
				runDir := filepath.Join(dir, fmt.Sprintf("%s-%s-%d", c.Name, sc.Name, i))
				_, r, row, err := runCase(c, runDir, func(runDir string) (*selftest.Result, error) {
					return c.RunOn(ctx, sc, runDir)
				})
				if err != nil {
					return nil, fmt.Errorf("matrix %s on %s: %w", c.Name, sc.Name, err)
				}
				cell.Verdicts = append(cell.Verdicts, r.Verdict)
				cell.Seconds += row.Seconds
				failed := len(row.CaughtBy) > 0 || !c.Mutant() && r.Verdict != report.Pass
				if failed {
					cell.Caught++
				}
				for _, by := range row.CaughtBy {
					cell.CaughtBy[by]++
				}
				fmt.Fprintf(log, "matrix: %-26s on %-22s run %d: %-12s %5.1fs  %s\n", c.Name, sc.Name, i+1, r.Verdict,
					row.Seconds, strings.Join(row.CaughtBy, ", "))
			}
			rep.Cells = append(rep.Cells, cell)
			switch {
			case !c.Mutant() && cell.Caught > 0:
				rep.Failures = append(rep.Failures, fmt.Sprintf("real system on %s: %d of %d runs did not pass", sc.Name, cell.Caught, runs))
			case c.Mutant() && cell.Caught == runs:
				killed[c.Name] = true
			}
		}
	}
	for _, c := range cases {
		if !killed[c.Name] {
			rep.Survivors = append(rep.Survivors, c.Name)
		}
	}
	rep.OK = len(rep.Survivors) == 0 && len(rep.Failures) == 0
	rep.Seconds = time.Since(start).Seconds()
	return rep, nil
}

// WriteFilesText renders a row per mutant, a column per scenario: how
// many runs caught it, then what caught it.
func WriteFilesText(w io.Writer, rep *FilesReport) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "mutant\t%s\n", strings.Join(rep.Scenarios, "\t"))
	var names []string
	cells := map[[2]string]Cell{}
	for _, c := range rep.Cells {
		if !slices.Contains(names, c.Mutant) {
			names = append(names, c.Mutant)
		}
		cells[[2]string{c.Mutant, c.Scenario}] = c
	}
	for _, n := range names {
		fmt.Fprint(tw, n)
		for _, s := range rep.Scenarios {
			c, ok := cells[[2]string{n, s}]
			switch {
			case !ok:
				fmt.Fprint(tw, "\t-")
			case n == selftest.RealName:
				fmt.Fprintf(tw, "\tpass %d/%d", c.Runs-c.Caught, c.Runs)
			default:
				fmt.Fprintf(tw, "\t%d/%d", c.Caught, c.Runs)
			}
		}
		fmt.Fprintln(tw)
	}
	_ = tw.Flush()
	fmt.Fprintln(w, "\ncaught by (runs):")
	for _, c := range rep.Cells {
		if len(c.CaughtBy) == 0 {
			continue
		}
		var by []string
		for k, v := range c.CaughtBy {
			by = append(by, fmt.Sprintf("%s (%d)", k, v))
		}
		slices.Sort(by)
		fmt.Fprintf(w, "  %-26s %-22s %s\n", c.Mutant, c.Scenario, strings.Join(by, ", "))
	}
	if rep.OK {
		fmt.Fprintf(w, "selftest --matrix: ok: every mutant caught in all %d runs by some scenario; the real system passed every run, in %.1fs\n", rep.Runs, rep.Seconds)
		return
	}
	var why []string
	if len(rep.Survivors) > 0 {
		why = append(why, "mutants not caught in every run by any scenario: "+strings.Join(rep.Survivors, ", "))
	}
	why = append(why, rep.Failures...)
	fmt.Fprintln(w, "selftest --matrix: FAILED: "+strings.Join(why, "; "))
}
