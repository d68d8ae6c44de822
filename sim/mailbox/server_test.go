package mailbox_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stormsim/stormsim/coordinator/scheduler"
	"github.com/stormsim/stormsim/coordinator/smtpmail"
	"github.com/stormsim/stormsim/sim/mailbox"
)

var t0 = time.Date(2025, 1, 6, 12, 0, 0, 0, time.UTC)

func start(t *testing.T, o mailbox.Options) *mailbox.Server {
	t.Helper()
	if o.Now == nil {
		o.Now = func() time.Time { return t0 }
	}
	s, err := mailbox.Start("127.0.0.1:0", o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

func msg(id string) scheduler.Message {
	return scheduler.Message{EventID: id, Due: t0.Add(-time.Minute), From: "reminders@stormsim.test",
		To: "u1@stormsim.test", Subject: "Welcome", Body: "Hello\nthere"}
}

// noWait backs off without waiting: retries are immediate in tests.
func noWait(context.Context, time.Duration) error { return nil }

func TestServer_Send_RecordsHeadersAndClock(t *testing.T) {
	s := start(t, mailbox.Options{})
	m := &smtpmail.Mailer{Addr: s.Addr(), Run: "r1", Sleep: noWait}
	if err := m.Send(context.Background(), msg("e1")); err != nil {
		t.Fatal(err)
	}
	got := s.Messages()
	if len(got) != 1 {
		t.Fatalf("%d messages, want 1", len(got))
	}
	r := got[0]
	if r.EventID != "e1" || r.MessageID != "<e1@stormsim.event>" || !r.At.Equal(t0) {
		t.Fatalf("recorded %+v", r)
	}
	if r.Header.Get(smtpmail.HeaderRun) != "r1" || r.Header.Get(smtpmail.HeaderDue) != t0.Add(-time.Minute).Format(time.RFC3339Nano) {
		t.Fatalf("headers %v", r.Header)
	}
	if st := s.Stats(); st.Sessions != 1 || st.Accepted != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestServer_Faults(t *testing.T) {
	tests := []struct {
		name     string
		faults   mailbox.Faults
		mailer   smtpmail.Mailer
		wantErr  error // nil: delivered exactly once
		definite bool  // the error must not be ErrMaybeSent
		stat     func(mailbox.Stats) int64
	}{
		{name: "refused then retried", faults: mailbox.Faults{Refuse: 0.6},
			mailer: smtpmail.Mailer{Attempts: 20}, stat: func(s mailbox.Stats) int64 { return s.Refused }},
		{name: "slow but within the timeout", faults: mailbox.Faults{Slow: 0.6, SlowDelay: 20 * time.Millisecond},
			mailer: smtpmail.Mailer{Attempts: 20}, stat: func(s mailbox.Stats) int64 { return s.Slowed }},
		{name: "dropped mid-DATA then retried", faults: mailbox.Faults{Drop: 0.6},
			mailer: smtpmail.Mailer{Attempts: 1}, wantErr: scheduler.ErrMaybeSent,
			stat: func(s mailbox.Stats) int64 { return s.Dropped }},
		{name: "slow past the timeout: not sent, not ambiguous", faults: mailbox.Faults{Slow: 0.99, SlowDelay: 300 * time.Millisecond},
			mailer: smtpmail.Mailer{Attempts: 1, Timeout: 100 * time.Millisecond}, wantErr: errors.New("timeout"), definite: true,
			stat: func(s mailbox.Stats) int64 { return s.Slowed }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := start(t, mailbox.Options{Faults: tc.faults, Seed: 3})
			mailer := tc.mailer
			mailer.Addr, mailer.Sleep = s.Addr(), noWait
			var err error
			for i := range 10 { // the scheduler's retries
				if err = mailer.Send(context.Background(), msg("e2")); err == nil || tc.wantErr != nil {
					break
				}
				t.Logf("try %d: %v", i, err)
			}
			st := s.Stats()
			if tc.stat(st) == 0 {
				t.Fatalf("fault never injected: %+v", st)
			}
			if tc.wantErr != nil {
				if err == nil || (tc.definite && errors.Is(err, scheduler.ErrMaybeSent)) ||
					(!tc.definite && !errors.Is(err, tc.wantErr)) {
					t.Fatalf("err %v, want %v (definite %v)", err, tc.wantErr, tc.definite)
				}
				if n := len(s.Messages()); n != 0 {
					t.Fatalf("%d messages after a failed delivery", n)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if n := len(s.Messages()); n != 1 {
				t.Fatalf("%d messages, want exactly 1 (stats %+v)", n, st)
			}
		})
	}
}

// TestServer_WithMail_NothingLostNothingTwice sends 200 events' e-mails
// through scheduler.Mail over every fault at once, retrying each failed
// run the way the scheduler does, with a duplicate run of every event.
func TestServer_WithMail_NothingLostNothingTwice(t *testing.T) {
	s := start(t, mailbox.Options{Faults: mailbox.Faults{Refuse: 0.1, Slow: 0.1, SlowDelay: time.Millisecond, Drop: 0.1}, Seed: 9})
	now := t0
	mail, err := scheduler.NewMail(scheduler.MailOptions{
		Mailer: &smtpmail.Mailer{Addr: s.Addr(), Sleep: noWait}, Ledger: scheduler.NewMemLedger(func() time.Time { return now }),
		Compose: func(ev scheduler.Event) (scheduler.Message, error) { return msg(ev.ID), nil }, Lease: time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	const n = 200
	for i := range n {
		ev := scheduler.Event{ID: fmt.Sprintf("e%d", i)}
		for try := 0; ; try++ {
			_, err := mail.Send(context.Background(), ev)
			if err == nil {
				break
			}
			if try > 20 {
				t.Fatalf("%s: %v", ev.ID, err)
			}
			now = now.Add(time.Minute) // the scheduler retries a minute later
		}
		if out, err := mail.Send(context.Background(), ev); err != nil || out != scheduler.OutcomeAlreadySent {
			t.Fatalf("duplicate run of %s: %v %v", ev.ID, out, err)
		}
	}
	seen := map[string]int{}
	for _, r := range s.Messages() {
		seen[r.EventID]++
	}
	st := s.Stats()
	if len(seen) != n || int64(len(s.Messages())) != n {
		t.Fatalf("%d distinct of %d messages, want %d each once (stats %+v)", len(seen), len(s.Messages()), n, st)
	}
	if st.Refused == 0 || st.Slowed == 0 || st.Dropped == 0 {
		t.Fatalf("a fault was never injected: %+v", st)
	}
	t.Logf("stats %+v", st)
}

func TestStart_BadFaultShare(t *testing.T) {
	if _, err := mailbox.Start("127.0.0.1:0", mailbox.Options{Faults: mailbox.Faults{Drop: 1}}); err == nil {
		t.Fatal("drop share 1 accepted")
	}
}

func TestServer_Close_Idempotent(t *testing.T) {
	s := start(t, mailbox.Options{})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}
