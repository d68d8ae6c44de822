package report

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"
)

// JUnit writes junit.xml: one testsuite "stormsim" with one test case per
// gate (classname stormsim.gates) and per invariant (stormsim.invariants).
// A failed gate carries its measured value; a failed invariant its number
// of violations and the violating upload ids. An inconclusive invariant is
// an <error> rather than <skipped>: a check that could not finish must not
// show as green in CI (the run exits 3). When the verdict is inconclusive
// for reasons no test case covers (the planned rate was not reached, the
// harness ran out of CPU), one more case, stormsim.run/verdict, carries
// them as an error for the same reason.
func JUnit(w io.Writer, r *Results) error {
	suite := junitSuite{
		Name:      "stormsim",
		Time:      fmt.Sprintf("%.3f", r.DurationSeconds),
		Timestamp: junitTime(r),
		Properties: []junitProperty{
			{"scenario", r.Scenario},
			{"strategy", r.Strategy},
			{"seed", fmt.Sprint(r.Seed)},
			{"workload_hash", r.WorkloadHash},
			{"verdict", r.Verdict},
			{"rerun", r.Rerun},
		},
	}
	for _, g := range r.Gates {
		suite.add(gateCase(g))
	}
	for _, inv := range r.Invariants {
		suite.add(invariantCase(inv))
	}
	if r.Verdict == Inconclusive && suite.Errors == 0 {
		suite.add(junitCase{
			ClassName: "stormsim.run",
			Name:      "verdict",
			Error: &junitProblem{
				Type:    "inconclusive",
				Message: "run inconclusive: " + strings.Join(r.Reasons, "; "),
				Text:    strings.Join(r.Reasons, "\n"),
			},
		})
	}
	if len(r.Reasons) > 0 {
		suite.SystemOut = "verdict " + r.Verdict + ":\n" + strings.Join(r.Reasons, "\n")
	}
	if r.Rerun != "" {
		suite.SystemOut = strings.TrimSpace(suite.SystemOut + "\nrerun: " + r.Rerun)
	}
	doc := junitSuites{
		Name: "stormsim", Tests: suite.Tests, Failures: suite.Failures,
		Errors: suite.Errors, Skipped: suite.Skipped, Time: suite.Time,
		Suites: []junitSuite{suite},
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return fmt.Errorf("write junit: %w", err)
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("write junit: %w", err)
	}
	if _, err := io.WriteString(w, "\n"); err != nil {
		return fmt.Errorf("write junit: %w", err)
	}
	return nil
}

func gateCase(g Gate) junitCase {
	c := junitCase{ClassName: "stormsim.gates", Name: g.Expr}
	if g.OK {
		c.SystemOut = "value " + gateValue(g)
		return c
	}
	if g.Inconclusive {
		msg := fmt.Sprintf("gate %s inconclusive: %s", g.Expr, intervalText(g))
		if g.Interval == nil {
			msg = fmt.Sprintf("gate %s inconclusive: value %s; %s", g.Expr, gateValue(g), g.Reason)
		}
		c.Error = &junitProblem{Type: "inconclusive", Message: msg, Text: msg}
		return c
	}
	msg := fmt.Sprintf("gate %s failed: value %s", g.Expr, gateValue(g)+gateIntervalText(g))
	if g.NoData {
		msg = fmt.Sprintf("gate %s failed: the metric has no samples", g.Expr)
	}
	c.Failure = &junitProblem{Type: "gate", Message: msg, Text: msg}
	return c
}

func invariantCase(inv Invariant) junitCase {
	c := junitCase{ClassName: "stormsim.invariants", Name: inv.Name}
	var body strings.Builder
	if len(inv.Examples) > 0 {
		fmt.Fprintf(&body, "violating uploads: %s\n", strings.Join(inv.Examples, ", "))
	}
	if inv.Detail != "" {
		fmt.Fprintf(&body, "%s\n", inv.Detail)
	}
	switch {
	case inv.Inconclusive:
		msg := fmt.Sprintf("invariant %s inconclusive", inv.Name)
		if inv.Detail != "" {
			msg += ": " + inv.Detail
		}
		c.Error = &junitProblem{Type: "inconclusive", Message: msg, Text: strings.TrimSpace(body.String())}
	case !inv.OK:
		msg := fmt.Sprintf("invariant %s: %d violations", inv.Name, inv.Violations)
		if len(inv.Examples) > 0 {
			msg += " (" + examples(inv.Examples, maxExamples) + ")"
		}
		c.Failure = &junitProblem{Type: "invariant", Message: msg, Text: strings.TrimSpace(body.String())}
	}
	return c
}

func junitTime(r *Results) string {
	if r.Started.IsZero() {
		return ""
	}
	// The JUnit schema wants ISO 8601 without a zone; the time is UTC.
	return r.Started.UTC().Format("2006-01-02T15:04:05")
}

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Timestamp  string          `xml:"timestamp,attr,omitempty"`
	Properties []junitProperty `xml:"properties>property"`
	Cases      []junitCase     `xml:"testcase"`
	SystemOut  string          `xml:"system-out,omitempty"`
}

func (s *junitSuite) add(c junitCase) {
	if c.Time == "" {
		c.Time = "0" // checks run after the load, not per case
	}
	s.Tests++
	switch {
	case c.Failure != nil:
		s.Failures++
	case c.Error != nil:
		s.Errors++
	case c.Skipped != nil:
		s.Skipped++
	}
	s.Cases = append(s.Cases, c)
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	ClassName string        `xml:"classname,attr"`
	Name      string        `xml:"name,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitProblem `xml:"failure"`
	Error     *junitProblem `xml:"error"`
	Skipped   *junitProblem `xml:"skipped"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitProblem struct {
	Type    string `xml:"type,attr,omitempty"`
	Message string `xml:"message,attr"`
	Text    string `xml:",chardata"`
}
