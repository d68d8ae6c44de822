package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stormsim/stormsim/sim/checker"
)

func TestCheckSummary_Report_VerdictLine(t *testing.T) {
	ok := checker.Result{Name: "one-winner", OK: true}
	tests := []struct {
		name    string
		rep     checker.Report
		verdict string
		lines   []string
	}{
		{"pass", checker.Report{Checks: []checker.Result{ok, {Name: "agreement", OK: true}}},
			"verdict: PASS: no violation (2 invariant(s) checked on 10 upload(s) from runs/a)",
			[]string{"  ok  one-winner", "  ok  agreement"}},
		{"fail", checker.Report{Violations: 7, Checks: []checker.Result{ok,
			{Name: "no-lost-update", Violations: 7, Examples: []string{"u1", "u2", "u3", "u4", "u5", "u6", "u7"}, Detail: "head moved back"}}},
			"verdict: FAIL: 1 of 2 invariant(s) violated, 7 violation(s) in all (2 invariant(s) checked on 10 upload(s) from runs/a)",
			[]string{"  FAIL  no-lost-update  7 violation(s), e.g. u1, u2, u3, u4, u5 (2 more): head moved back"}},
		{"inconclusive", checker.Report{Inconclusive: true, Checks: []checker.Result{ok,
			{Name: "linearizable", Inconclusive: true, Detail: "timed out after 60s"}}},
			"verdict: INCONCLUSIVE: 1 check(s) could not finish (2 invariant(s) checked on 10 upload(s) from runs/a)",
			[]string{"  INCONCLUSIVE  linearizable  timed out after 60s"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := CheckSummary(&buf, tt.rep, 10, []string{"runs/a"}); err != nil {
				t.Fatal(err)
			}
			out := buf.String()
			lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
			if last := lines[len(lines)-1]; last != tt.verdict {
				t.Errorf("last line %q, want %q", last, tt.verdict)
			}
			for _, want := range tt.lines {
				if !strings.Contains(out, want+"\n") {
					t.Errorf("output lacks line %q:\n%s", want, out)
				}
			}
			if strings.Contains(out, "violations 0") || strings.Contains(out, "[]") {
				t.Errorf("noise in the output:\n%s", out)
			}
		})
	}
}
