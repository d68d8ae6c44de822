package report

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/stormsim/stormsim/sim/checker"
)

// maxCheckExamples caps the ids shown per failed check.
const maxCheckExamples = 5

// CheckSummary writes what simrun check prints for a recorded history:
// one line per invariant (what failed, with examples; a passing check says
// only "ok") and the verdict line, naming how many uploads from which
// folders were checked.
func CheckSummary(w io.Writer, rep checker.Report, uploads int, dirs []string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	failed, inconclusive := 0, 0
	for _, c := range rep.Checks {
		var line string
		switch {
		case c.Inconclusive:
			inconclusive++
			line = fmt.Sprintf("  INCONCLUSIVE\t%s\t%s", c.Name, c.Detail)
		case !c.OK || c.Violations > 0:
			failed++
			ex := c.Examples
			more := ""
			if len(ex) > maxCheckExamples {
				ex, more = ex[:maxCheckExamples], fmt.Sprintf(" (%d more)", len(c.Examples)-maxCheckExamples)
			}
			line = fmt.Sprintf("  FAIL\t%s\t%d violation(s)", c.Name, c.Violations)
			if len(ex) > 0 {
				line += ", e.g. " + strings.Join(ex, ", ") + more
			}
			if c.Detail != "" {
				line += ": " + c.Detail
			}
		default:
			line = fmt.Sprintf("  ok\t%s\t", c.Name)
		}
		fmt.Fprintln(tw, strings.TrimRight(line, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write check: %w", err)
	}
	what := fmt.Sprintf("%d invariant(s) checked on %d upload(s) from %s", len(rep.Checks), uploads, strings.Join(dirs, ", "))
	var verdict string
	switch {
	case rep.Violations > 0 || failed > 0:
		verdict = fmt.Sprintf("verdict: FAIL: %d of %d invariant(s) violated, %d violation(s) in all (%s)", failed, len(rep.Checks), rep.Violations, what)
	case rep.Inconclusive:
		verdict = fmt.Sprintf("verdict: INCONCLUSIVE: %d check(s) could not finish (%s)", inconclusive, what)
	default:
		verdict = fmt.Sprintf("verdict: PASS: no violation (%s)", what)
	}
	if _, err := fmt.Fprintf(w, "\n%s\n", verdict); err != nil {
		return fmt.Errorf("write check: %w", err)
	}
	return nil
}
