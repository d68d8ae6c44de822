package report

import (
	"bytes"
	"encoding/xml"
	"strings"
	"testing"
)

func TestJUnit_Fixture_Golden(t *testing.T) {
	var buf bytes.Buffer
	if err := JUnit(&buf, fixture(t)); err != nil {
		t.Fatal(err)
	}
	golden(t, "junit.golden.xml", buf.Bytes())
}

func TestJUnit_Fixture_Structure(t *testing.T) {
	r := fixture(t)
	var buf bytes.Buffer
	if err := JUnit(&buf, r); err != nil {
		t.Fatal(err)
	}
	var doc junitSuites
	if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("junit.xml does not parse: %v", err)
	}
	if len(doc.Suites) != 1 || doc.Suites[0].Name != "stormsim" {
		t.Fatalf("want one suite stormsim, got %+v", doc.Suites)
	}
	s := doc.Suites[0]
	if want := len(r.Gates) + len(r.Invariants); s.Tests != want || len(s.Cases) != want {
		t.Errorf("tests = %d (%d cases), want %d", s.Tests, len(s.Cases), want)
	}
	// Fixture: 2 failed gates + 2 failed invariants; 1 inconclusive invariant.
	if s.Failures != 4 || s.Errors != 1 {
		t.Errorf("failures = %d, errors = %d; want 4 and 1", s.Failures, s.Errors)
	}
	byName := map[string]junitCase{}
	for _, c := range s.Cases {
		byName[c.Name] = c
	}
	if c := byName["latency.p99 < 2s"]; c.Failure == nil || !strings.Contains(c.Failure.Message, "2.31s") {
		t.Errorf("failed gate lacks its value: %+v", c.Failure)
	}
	if c := byName["no-lost-update"]; c.Failure == nil || !strings.Contains(c.Failure.Text, "u-000017, u-004242") {
		t.Errorf("failed invariant lacks the upload ids: %+v", c.Failure)
	}
	if c := byName["linearizable"]; c.Error == nil || c.Error.Type != "inconclusive" {
		t.Errorf("inconclusive invariant not an error: %+v", c)
	}
	if c := byName["one-winner"]; c.Failure != nil || c.Error != nil {
		t.Errorf("passing invariant reported as a problem: %+v", c)
	}
}

func TestJUnit_InconclusiveRun_VerdictCase(t *testing.T) {
	r := &Results{Verdict: Inconclusive, Reasons: []string{"achieved 61% of the planned rate"},
		Gates: []Gate{{Expr: "polls.mean <= 1.2", OK: true, Value: 0.9}}}
	var buf bytes.Buffer
	if err := JUnit(&buf, r); err != nil {
		t.Fatal(err)
	}
	var doc junitSuites
	if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	s := doc.Suites[0]
	if s.Tests != 2 || s.Errors != 1 {
		t.Fatalf("tests = %d, errors = %d; want 2 and 1:\n%s", s.Tests, s.Errors, buf.String())
	}
	if c := s.Cases[1]; c.Name != "verdict" || !strings.Contains(c.Error.Message, "61%") {
		t.Errorf("verdict case = %+v", c)
	}
}
