package main

import (
	"flag"
	"net"
	"net/url"

	"github.com/stormsim/stormsim/scenarios"
	"github.com/stormsim/stormsim/sim"
)

// mailOptions point a scenario's reminder e-mails (scheduler.email) at a
// real SMTP server whose HTTP API the run reads them back from (Mailpit).
type mailOptions struct {
	smtp, api string
}

func (m *mailOptions) register(fs *flag.FlagSet) {
	fs.StringVar(&m.smtp, "smtp", "", "real SMTP server HOST:PORT for the scheduler's e-mails (scheduler.email; default: the embedded server); needs --smtp-api")
	fs.StringVar(&m.api, "smtp-api", "", "HTTP API of the --smtp server to read the e-mails back from (Mailpit, e.g. http://127.0.0.1:8025)")
}

// server checks the flags against sc and returns where the e-mail goes.
func (m *mailOptions) server(sc *scenarios.Scenario) (sim.MailServer, error) {
	if m.smtp == "" && m.api == "" {
		return sim.MailServer{}, nil
	}
	if m.smtp == "" || m.api == "" {
		return sim.MailServer{}, usagef("--smtp and --smtp-api go together")
	}
	if _, _, err := net.SplitHostPort(m.smtp); err != nil {
		return sim.MailServer{}, usagef("--smtp %q: want HOST:PORT", m.smtp)
	}
	if u, err := url.Parse(m.api); err != nil || u.Host == "" || u.Scheme != "http" && u.Scheme != "https" {
		return sim.MailServer{}, usagef("--smtp-api %q: want an http:// or https:// URL", m.api)
	}
	if sc.Scheduler == nil || sc.Scheduler.Email == nil || len(sc.Phases) > 0 {
		return sim.MailServer{}, usagef("--smtp: scenario %s sends no e-mail (it needs a scheduler section with email and no phases)", sc.Name)
	}
	return sim.MailServer{SMTP: m.smtp, API: m.api}, nil
}
