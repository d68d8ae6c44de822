package sim

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stormsim/stormsim/internal/testsrv"
	"github.com/stormsim/stormsim/scenarios"
	"github.com/stormsim/stormsim/sim/checker"
	"github.com/stormsim/stormsim/sim/history"
)

const emailScenario = `
name: email-test
seed: 4
scheduler:
  days: 0.2
  new_users_per_hour: 60
  events_per_user: 1
  due_offsets: [{kind: uniform, min: 1m, max: 30m}]
  duplicate_fire: 10%
  email: {crash_after_send: 10%, reinsert: 10%, smtp_refuse: 10%, smtp_drop: 5%}
gates: ["email.duplicates == 0"]
`

func runEmail(t *testing.T, ms MailServer) (*SchedulerResult, *history.Set) {
	t.Helper()
	sc, err := scenarios.Parse("email-test.yaml", []byte(emailScenario))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	res, err := RunSchedulerMail(context.Background(), sc, sc.Seed, dir, ms)
	if err != nil {
		t.Fatal(err)
	}
	hs, err := history.ReadFiles(filepath.Join(dir, "history.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	return res, hs
}

func TestRunSchedulerMail_Embedded(t *testing.T) {
	res, hs := runEmail(t, MailServer{})
	e := res.Email
	if e == nil || e.Server != "embedded" || e.SMTP == nil {
		t.Fatalf("email run %+v", e)
	}
	st := e.Stats
	if st.Due < 50 || st.Missed != 0 || st.Duplicates != 0 || st.Early != 0 || st.Stray != 0 {
		t.Fatalf("stats %+v", st)
	}
	if len(hs.Mails) != st.Messages || !checker.HasMail(hs) {
		t.Fatalf("history holds %d mail records for %d messages", len(hs.Mails), st.Messages)
	}
	if c, ok := res.Check.Find(checker.NameEmail); !ok || !c.OK {
		t.Fatalf("email check %+v", c)
	}
}

func TestRunSchedulerMail_RealServerNeedsAPI(t *testing.T) {
	sc, err := scenarios.Parse("email-test.yaml", []byte(emailScenario))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := RunSchedulerMail(context.Background(), sc, 1, t.TempDir(), MailServer{SMTP: "127.0.0.1:1"}); err == nil {
		t.Fatal("a real server without an API was accepted")
	}
}

// TestRunSchedulerMail_Mailpit runs the e-mail through a real Mailpit and
// reads it back: exactly once, and the receive times, mapped from
// Mailpit's wall clock to the virtual one, agree with when the scheduler
// sent.
func TestRunSchedulerMail_Mailpit(t *testing.T) {
	bin := os.Getenv("STORMSIM_MAILPIT")
	if bin == "" {
		bin, _ = exec.LookPath("mailpit")
	}
	if _, err := os.Stat(bin); bin == "" || err != nil {
		t.Skip("mailpit not installed (.ci/mailpit.sh install)")
	}
	smtpAddr := fmt.Sprint("127.0.0.1:", testsrv.FreePort(t))
	httpAddr := fmt.Sprint("127.0.0.1:", testsrv.FreePort(t))
	testsrv.Start(t, t.TempDir(), nil, bin, "--smtp", smtpAddr, "--listen", httpAddr,
		"--database", filepath.Join(t.TempDir(), "mailpit.db"), "--max", "0", "--smtp-disable-rdns")
	testsrv.WaitTCP(t, smtpAddr, 20*time.Second)
	testsrv.WaitTCP(t, httpAddr, 20*time.Second)
	res, hs := runEmail(t, MailServer{SMTP: smtpAddr, API: "http://" + httpAddr})
	st := res.Email.Stats
	if res.Email.Server != "mailpit" || st.Due < 50 || st.Missed != 0 || st.Duplicates != 0 || st.Early != 0 {
		t.Fatalf("stats %+v", st)
	}
	fired := map[string]time.Time{}
	for _, s := range hs.Scheds {
		if s.Fired != nil {
			fired[s.ID] = *s.Fired
		}
	}
	for _, m := range hs.Mails {
		// The scheduler records a send after it returned; the receipt is
		// within that send, at most its backoffs earlier.
		if d := fired[m.Event].Sub(m.Received); d < 0 || d > time.Minute {
			t.Fatalf("%s received %v, recorded sent %v", m.Event, m.Received, fired[m.Event])
		}
	}
}
