package killmatrix

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/stormsim/stormsim/sim/selftest"
)

// WriteText renders the kill matrix: a row per run, a column per
// invariant and gate; X caught, . passed, blank not applicable.
func WriteText(w io.Writer, rep *Report) {
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', 0)
	fmt.Fprint(tw, "mutant\tscenario\t")
	for _, inv := range invariantColumns {
		fmt.Fprintf(tw, "%s\t", inv.label)
	}
	for i := range rep.Gates {
		fmt.Fprintf(tw, "G%d\t", i+1)
	}
	fmt.Fprintln(tw, "result\tseconds")
	mark := map[string]string{cellCaught: "X", cellOK: ".", cellNA: "", cellInconclusive: "?"}
	for _, row := range rep.Runs {
		fmt.Fprintf(tw, "%s\t%s\t", row.Mutant, row.Scenario)
		for _, inv := range invariantColumns {
			fmt.Fprintf(tw, "%s\t", mark[row.Cells[inv.name]])
		}
		for _, g := range rep.Gates {
			c, ok := row.Cells[g]
			if !ok {
				c = cellNA
			}
			fmt.Fprintf(tw, "%s\t", mark[c])
		}
		fmt.Fprintf(tw, "%s\t%.1f\n", row.Status, row.Seconds)
	}
	_ = tw.Flush()
	fmt.Fprintln(w, "\nX caught (violated or failed)   . held   ? inconclusive   blank: not applicable")
	for i, g := range rep.Gates {
		fmt.Fprintf(w, "G%d  %s\n", i+1, g)
	}
	fmt.Fprintln(w)
	for _, row := range rep.Runs {
		if row.Breaks != "" {
			fmt.Fprintf(w, "%-24s %s\n", row.Mutant, row.Breaks)
		}
		if len(row.Missed) > 0 {
			fmt.Fprintf(w, "%-24s not caught this time by %s, which it is documented to fail\n", "", strings.Join(row.Missed, ", "))
		}
	}
	fmt.Fprintln(w)
	for _, d := range rep.Determinism {
		state := "ok"
		if !d.OK {
			state = "FAILED"
		}
		fmt.Fprintf(w, "determinism %-19s seed %d workload %.16s: same seed same hash %v, other seed differs %v, all runs same hash %v: %s\n",
			d.Scenario, d.Seed, d.Hash, d.SameSeedSameHash, d.OtherSeedDiffers, d.RunsSeeSameHash, state)
	}
	fmt.Fprintln(w, rep.VerdictLine())
}

// VerdictLine is the self-test's last line: ok, or why not.
func (rep *Report) VerdictLine() string {
	mutants, reals := 0, 0
	for _, r := range rep.Runs {
		if r.Mutant == selftest.RealName {
			reals++
		} else {
			mutants++
		}
	}
	if rep.OK {
		return fmt.Sprintf("selftest: ok: %d mutants caught, the real system passed %d scenarios, in %.1fs", mutants, reals, rep.Seconds)
	}
	var why []string
	if len(rep.Survivors) > 0 {
		why = append(why, "mutants not caught: "+strings.Join(rep.Survivors, ", "))
	}
	why = append(why, rep.Failures...)
	if len(rep.Inconclusive) > 0 {
		why = append(why, "not judged (harness-bound): "+strings.Join(rep.Inconclusive, "; "))
	}
	if want := rep.Planned; len(rep.Runs) < want {
		why = append(why, fmt.Sprintf("only %d of %d runs finished", len(rep.Runs), want))
	}
	if len(rep.Survivors) == 0 && len(rep.Failures) == 0 && len(rep.Inconclusive) > 0 {
		return "selftest: INCONCLUSIVE: " + strings.Join(why, "; ")
	}
	return "selftest: FAILED: " + strings.Join(why, "; ")
}
