package sim

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/stormsim/stormsim/coordinator/scheduler"
	"github.com/stormsim/stormsim/coordinator/smtpmail"
	"github.com/stormsim/stormsim/scenarios"
	"github.com/stormsim/stormsim/sim/checker"
	"github.com/stormsim/stormsim/sim/history"
	"github.com/stormsim/stormsim/sim/mailbox"
	"github.com/stormsim/stormsim/sim/schedsim"
)

// MailServer points a scheduler run's e-mail at a real SMTP server
// (simrun --smtp HOST:PORT --smtp-api URL): Mailpit, read back through its
// HTTP API. The zero value means the embedded server.
type MailServer struct {
	SMTP string // host:port
	API  string // Mailpit's HTTP API base URL
}

// EmailRun is what a scheduler run's e-mail check found.
type EmailRun struct {
	Server string // embedded|mailpit
	Stats  checker.EmailStats
	SMTP   *mailbox.Stats // the embedded server's counters
}

// emailRun is one run's mail path: the server, the schedsim config that
// sends to it, and how to read back what it received.
type emailRun struct {
	server string
	box    *mailbox.Server // nil for a real server
	real   MailServer
	clock  *schedsim.RunClock
	domain string
	cfg    *schedsim.MailConfig
}

// startEmail prepares the mail path of a scheduler section with email: the
// embedded SMTP server on loopback (with the section's faults), or the real
// server ms names.
func startEmail(e *scenarios.Email, seed uint64, ms MailServer) (*emailRun, error) {
	// The Message-ID domain names the run: from the seed alone on the
	// embedded server (a rerun writes the same history), unique on a real
	// server, whose mailbox other runs share.
	r := &emailRun{clock: schedsim.NewRunClock(), real: ms, domain: "seed-" + strconv.FormatUint(seed, 10) + ".stormsim"}
	if ms.SMTP != "" {
		r.domain = "run-" + strconv.FormatInt(time.Now().UnixNano(), 36) + "." + r.domain
	}
	addr := ms.SMTP
	if addr == "" {
		box, err := mailbox.Start("127.0.0.1:0", mailbox.Options{Now: r.clock.Now, Seed: seed, Faults: mailbox.Faults{
			Refuse: e.SMTPRefuse, Slow: e.SMTPSlow, SlowDelay: e.SMTPSlowDelay, Drop: e.SMTPDrop}})
		if err != nil {
			return nil, err
		}
		r.box, r.server, addr = box, "embedded", box.Addr()
	} else {
		if ms.API == "" {
			return nil, fmt.Errorf("start email: --smtp needs --smtp-api to read the messages back")
		}
		r.server = "mailpit"
	}
	lease := e.Lease
	if lease <= 0 {
		lease = 2 * time.Minute
	}
	backoff := e.Backoff
	if backoff <= 0 {
		backoff = 2 * time.Second
	}
	r.cfg = &schedsim.MailConfig{
		Mailer: func(sleep func(context.Context, time.Duration) error) scheduler.Mailer {
			return &smtpmail.Mailer{Addr: addr, Run: r.domain, Attempts: e.Attempts, Backoff: backoff,
				Sleep: sleep, Now: r.clock.Now, Timeout: 10 * time.Second}
		},
		Clock: r.clock, Domain: r.domain, Lease: lease,
		CrashAfterSend: e.CrashAfterSend, Reinsert: e.Reinsert,
	}
	return r, nil
}

// finish stops the embedded server (idempotent), reads back what the
// server received, writes one mail record per message to w and checks
// them against the sched records.
func (r *emailRun) finish(ctx context.Context, w *history.Writer, scheds []history.Sched) (*EmailRun, error) {
	var got []mailbox.Received
	var at func(mailbox.Received) time.Time
	out := &EmailRun{Server: r.server}
	if r.box != nil {
		if err := r.box.Close(); err != nil {
			return nil, fmt.Errorf("stop mail server: %w", err)
		}
		got = r.box.Messages()
		st := r.box.Stats()
		out.SMTP = &st
		if st.Overflow > 0 {
			return nil, fmt.Errorf("mail server record overflowed by %d messages", st.Overflow)
		}
	} else {
		var err error
		if got, err = (mailbox.Mailpit{URL: r.real.API}).Read(ctx, r.domain); err != nil {
			return nil, err
		}
		// Mailpit's clock is the wall clock: map each receipt to the run's.
		at = func(m mailbox.Received) time.Time {
			t, ok := r.clock.Map(m.EventID, m.At)
			if !ok {
				return m.At
			}
			return t
		}
	}
	recs := mailbox.Records(got, r.server, at)
	for _, m := range recs {
		if err := w.Write(m); err != nil {
			return nil, err
		}
	}
	out.Stats = checker.Email(&history.Set{Scheds: scheds, Mails: recs}, nil)
	return out, nil
}

// close stops the embedded server on an error path. Idempotent.
func (r *emailRun) close() {
	if r.box != nil {
		_ = r.box.Close()
	}
}

// MailRun asks a scheduler run to send its events as e-mails: the
// scenario's scheduler.email section (nil: plain events), where to, and
// the seed of the embedded server's faults.
type MailRun struct {
	Email  *scenarios.Email
	Server MailServer
	Seed   uint64
}

// start wires the e-mail into cfg (nil, nil without an email section). The
// mailer gets cfg.Hooks, so a self-test mutant breaks it too.
func (m MailRun) start(cfg *schedsim.Config) (*emailRun, error) {
	if m.Email == nil {
		return nil, nil
	}
	em, err := startEmail(m.Email, m.Seed, m.Server)
	if err != nil {
		return nil, err
	}
	em.cfg.Hooks = cfg.Hooks
	cfg.Mail = em.cfg
	return em, nil
}
