package schedsim_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/stormsim/stormsim/coordinator/scheduler"
	"github.com/stormsim/stormsim/coordinator/smtpmail"
	"github.com/stormsim/stormsim/sim/checker"
	"github.com/stormsim/stormsim/sim/history"
	"github.com/stormsim/stormsim/sim/mailbox"
	"github.com/stormsim/stormsim/sim/schedsim"
)

// mailRun runs a few virtual hours of sign-up reminders through the real
// SMTP client to the embedded server, with SMTP faults, duplicate fires,
// handler crashes after a send and re-inserted events, and returns the
// checker's view of the e-mails.
func mailRun(t *testing.T, hooks *scheduler.Hooks) (checker.EmailStats, schedsim.StrategyResult, mailbox.Stats) {
	return mailRunWith(t, hooks, nil)
}

// mailRunWith is mailRun with the Mailer wrapped by wrap (nil: as is).
func mailRunWith(t *testing.T, hooks *scheduler.Hooks, wrap func(scheduler.Mailer, func(context.Context, time.Duration) error) scheduler.Mailer) (checker.EmailStats, schedsim.StrategyResult, mailbox.Stats) {
	t.Helper()
	clock := schedsim.NewRunClock()
	srv, err := mailbox.Start("127.0.0.1:0", mailbox.Options{Now: clock.Now, Seed: 7,
		Faults: mailbox.Faults{Refuse: 0.05, Slow: 0.05, SlowDelay: time.Millisecond, Drop: 0.03}})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := srv.Close(); err != nil {
			t.Error(err)
		}
	}()
	cfg := schedsim.Config{
		Duration: 6 * time.Hour, NewUsersPerHour: 40, EventsPerUser: 2,
		DueOffsets:    []schedsim.Dist{schedsim.Uniform(0, 30*time.Minute), schedsim.Uniform(time.Hour, 3*time.Hour)},
		Jitter:        schedsim.Uniform(0, 10*time.Second),
		DuplicateFire: 0.2, UpdateDelay: 500 * time.Millisecond, HandlerTimePerEvent: 5 * time.Millisecond,
		Seed: 3, Hooks: hooks,
		Mail: &schedsim.MailConfig{
			Mailer: func(sleep func(context.Context, time.Duration) error) scheduler.Mailer {
				m := scheduler.Mailer(&smtpmail.Mailer{Addr: srv.Addr(), Sleep: sleep, Now: clock.Now})
				if wrap != nil {
					m = wrap(m, sleep)
				}
				return m
			},
			Clock: clock, CrashAfterSend: 0.05, Reinsert: 0.1, Hooks: hooks,
		},
	}
	var set history.Set
	res, err := schedsim.Run(context.Background(), cfg, func(s history.Sched) { set.Scheds = append(set.Scheds, s) })
	if err != nil {
		t.Fatal(err)
	}
	set.Mails = mailbox.Records(srv.Messages(), "embedded", nil)
	return checker.Email(&set, nil), res.Main(), srv.Stats()
}

func TestRun_Mail_ExactlyOnceUnderFaults(t *testing.T) {
	st, main, srvStats := mailRun(t, nil)
	t.Logf("email due %d missed %d dup %d early %d p99 %.1fs; mail %+v; server %+v",
		st.Due, st.Missed, st.Duplicates, st.Early, st.Quantile(0.99), *main.Mail, srvStats)
	if st.Due < 200 || st.Missed != 0 || st.Duplicates != 0 || st.Early != 0 || st.Stray != 0 {
		t.Fatalf("email stats %+v", st)
	}
	if !main.OK() {
		t.Fatalf("scheduler %+v", main)
	}
	m := main.Mail
	if m.Crashes == 0 || m.Reinserts == 0 || m.AlreadySent == 0 || m.MaybeSent == 0 || m.Failures == 0 {
		t.Fatalf("a fault path was never taken: %+v", *m)
	}
	if srvStats.Refused == 0 || srvStats.Dropped == 0 || srvStats.Slowed == 0 {
		t.Fatalf("a server fault was never injected: %+v", srvStats)
	}
}

// TestRun_Mail_MutantSendsTwice: the same run without the mail claim
// (the self-test's mutant) delivers duplicates, and the check sees them.
func TestRun_Mail_MutantSendsTwice(t *testing.T) {
	st, _, _ := mailRun(t, &scheduler.Hooks{Disabled: func(g string) bool { return g == scheduler.GuardMailClaim }})
	t.Logf("email due %d duplicates %d", st.Due, st.Duplicates)
	if st.Duplicates == 0 {
		t.Fatalf("no duplicates without the claim: %+v", st)
	}
}

func TestRunClock_Map(t *testing.T) {
	c := schedsim.NewRunClock()
	if _, ok := c.Map("e1", time.Now()); ok {
		t.Fatal("mapped an event never published")
	}
	// Map is exercised end to end against Mailpit in sim's tests; here the
	// zero clock reads the zero instant.
	if !c.Now().Equal(time.Unix(0, 0).UTC()) {
		t.Fatalf("unpublished clock at %v", c.Now())
	}
}

func TestConfig_MailRejects(t *testing.T) {
	base := func() schedsim.Config {
		return schedsim.Config{Duration: time.Hour, NewUsersPerHour: 1, Mail: &schedsim.MailConfig{
			Mailer: func(func(context.Context, time.Duration) error) scheduler.Mailer { return nil }}}
	}
	tests := map[string]func(*schedsim.Config){
		"wall clock":    func(c *schedsim.Config) { c.Wall = true },
		"peers":         func(c *schedsim.Config) { c.Compare = []string{schedsim.StrategyPoll} },
		"crash share 1": func(c *schedsim.Config) { c.Mail.CrashAfterSend = 1 },
		"no mailer":     func(c *schedsim.Config) { c.Mail.Mailer = nil },
	}
	for name, mod := range tests {
		t.Run(name, func(t *testing.T) {
			c := base()
			mod(&c)
			if _, err := schedsim.Run(context.Background(), c, nil); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

// mailerFunc adapts a func to scheduler.Mailer.
type mailerFunc func(context.Context, scheduler.Message) error

func (f mailerFunc) Send(ctx context.Context, m scheduler.Message) error { return f(ctx, m) }

// TestRun_Mail_BrokenMailersCaught: each e-mail invariant fails on a
// mailer (or scheduler) broken the way it guards against.
func TestRun_Mail_BrokenMailersCaught(t *testing.T) {
	off := func(guards ...string) *scheduler.Hooks {
		return &scheduler.Hooks{Disabled: func(g string) bool { return slices.Contains(guards, g) }}
	}
	tests := []struct {
		name  string
		hooks *scheduler.Hooks
		wrap  func(scheduler.Mailer, func(context.Context, time.Duration) error) scheduler.Mailer
		bad   func(checker.EmailStats) bool
	}{
		{name: "duplicates: no claim", hooks: off(scheduler.GuardMailClaim),
			bad: func(s checker.EmailStats) bool { return s.Duplicates > 0 }},
		{name: "missed: reports success without sending one in ten",
			wrap: func(m scheduler.Mailer, _ func(context.Context, time.Duration) error) scheduler.Mailer {
				n := 0
				return mailerFunc(func(ctx context.Context, msg scheduler.Message) error {
					if n++; n%10 == 0 {
						return nil
					}
					return m.Send(ctx, msg)
				})
			},
			bad: func(s checker.EmailStats) bool { return s.Missed > 0 }},
		{name: "early: a scheduler that runs the minute's events at its start", hooks: off(scheduler.GuardRoundUp, scheduler.GuardCutoff),
			bad: func(s checker.EmailStats) bool { return s.Early > 0 }},
		{name: "late: a mailer that stalls 10 minutes before sending",
			wrap: func(m scheduler.Mailer, sleep func(context.Context, time.Duration) error) scheduler.Mailer {
				return mailerFunc(func(ctx context.Context, msg scheduler.Message) error {
					_ = sleep(ctx, 10*time.Minute)
					return m.Send(ctx, msg)
				})
			},
			bad: func(s checker.EmailStats) bool { return s.Quantile(0.99) > 600 }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, _, _ := mailRunWith(t, tc.hooks, tc.wrap)
			t.Logf("due %d missed %d dup %d early %d p99 %.1fs", st.Due, st.Missed, st.Duplicates, st.Early, st.Quantile(0.99))
			if !tc.bad(st) {
				t.Fatal("not caught")
			}
		})
	}
}
