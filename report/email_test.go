package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stormsim/stormsim/scenarios"
	"github.com/stormsim/stormsim/sim"
	"github.com/stormsim/stormsim/sim/checker"
	"github.com/stormsim/stormsim/sim/mailbox"
	"github.com/stormsim/stormsim/sim/schedsim"
)

func emailFixture() *sim.SchedulerResult {
	return &sim.SchedulerResult{
		Sched: schedsim.Result{Strategies: []schedsim.StrategyResult{{Strategy: "self", Events: 4, Runs: 4,
			Mail: &schedsim.MailResult{Sent: 4, AlreadySent: 2, Crashes: 1}}}},
		Email: &sim.EmailRun{Server: "embedded", SMTP: &mailbox.Stats{Sessions: 6, Accepted: 5, Refused: 1},
			Stats: checker.EmailStats{Due: 4, Delivered: 3, Messages: 5, Duplicates: 2, Missed: 1, Early: 1,
				Lateness: []float64{10, 20, 30}}},
	}
}

func TestResults_Metric_Email(t *testing.T) {
	sc, err := scenarios.Parse("e.yaml", []byte("scheduler:\n  days: 0.1\n  email: {}\ngates:\n  - email.duplicates == 0\n  - email.missed == 0\n  - email.early == 0\n  - email.lateness.p99 <= 25s\n"))
	if err != nil {
		t.Fatal(err)
	}
	r := BuildScheduler(emailFixture(), sc, 1, "h", "")
	want := map[string]float64{"email.duplicates": 2, "email.missed": 1, "email.early": 1, "email.lateness.p99": 30}
	for m, v := range want {
		if got, ok := r.Metric(m); !ok || got != v {
			t.Errorf("%s = %v, %v; want %v", m, got, ok, v)
		}
	}
	for _, g := range r.Gates {
		if g.OK {
			t.Errorf("gate %s passed on a broken mailer's figures", g.Expr)
		}
	}
	if r.Verdict != Fail {
		t.Errorf("verdict %s", r.Verdict)
	}
	// Without an email section the metrics have no data: a gate fails.
	r.Email = nil
	if _, ok := r.Metric("email.missed"); ok {
		t.Error("email.missed has data without e-mail")
	}
}

func TestSummary_Email(t *testing.T) {
	sc, err := scenarios.Parse("e.yaml", []byte("scheduler:\n  days: 0.1\n  email: {}\n"))
	if err != nil {
		t.Fatal(err)
	}
	r := BuildScheduler(emailFixture(), sc, 1, "h", "")
	var text, page bytes.Buffer
	if err := Summary(&text, r); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"email (embedded): due 4  delivered 3  messages 5  duplicates 2  missed 1  early 1",
		"smtp sessions 6  accepted 5  injected: refused 1", "handler crashes 1"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, text.String())
		}
	}
	if err := HTML(&page, r, nil); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(page.String(), `<section id="email">`) {
		t.Error("report.html has no e-mail section")
	}
}
