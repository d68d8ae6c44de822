package scenarios

import "time"

// Email makes every event of a scheduler run a reminder e-mail: the
// scheduler's handler sends it over SMTP (to the harness's embedded server,
// or to the server simrun --smtp names), at most once per event id, and the
// checker reads back what the server received. Virtual clock only, without
// compare peers.
type Email struct {
	// Lease is how long a send claim holds before another run of the event
	// may take it over (default 2m).
	Lease time.Duration `yaml:"lease"`
	// Attempts and Backoff are the mailer's retries of a transient SMTP
	// failure within one run (defaults 3, 2s; backoff doubles).
	Attempts int           `yaml:"attempts"`
	Backoff  time.Duration `yaml:"backoff"`
	// CrashAfterSend is the share of events whose handler fails right after
	// sending (a retried handler); Reinsert the share inserted again after
	// they ran (a retried insert). Both make the event run again.
	CrashAfterSend float64 `yaml:"crash_after_send" unit:"fraction"`
	Reinsert       float64 `yaml:"reinsert" unit:"fraction"`
	// Faults of the embedded SMTP server, shares of SMTP sessions: refuse
	// (451 to MAIL FROM), slow (the RCPT reply waits smtp_slow_delay, real
	// time), drop (the connection closes in the middle of DATA, before the
	// message is accepted). A real server (--smtp) gets none.
	SMTPRefuse    float64       `yaml:"smtp_refuse" unit:"fraction"`
	SMTPSlow      float64       `yaml:"smtp_slow" unit:"fraction"`
	SMTPSlowDelay time.Duration `yaml:"smtp_slow_delay"`
	SMTPDrop      float64       `yaml:"smtp_drop" unit:"fraction"`
}

func (v *validator) email(s *Scheduler) {
	e := s.Email
	const p = "scheduler.email."
	v.check(e.Lease >= 0 && e.Lease <= 24*time.Hour, p+"lease", "must be in [0, 24h]", e.Lease)
	v.check(e.Attempts >= 0 && e.Attempts <= 20, p+"attempts", "must be in [0, 20]", e.Attempts)
	v.check(e.Backoff >= 0 && e.Backoff <= time.Hour, p+"backoff", "must be in [0, 1h]", e.Backoff)
	v.check(e.SMTPSlowDelay >= 0 && e.SMTPSlowDelay <= 5*time.Second, p+"smtp_slow_delay", "must be in [0, 5s] (real time)", e.SMTPSlowDelay)
	for _, f := range []struct {
		name string
		x    float64
	}{{"crash_after_send", e.CrashAfterSend}, {"reinsert", e.Reinsert}, {"smtp_refuse", e.SMTPRefuse},
		{"smtp_slow", e.SMTPSlow}, {"smtp_drop", e.SMTPDrop}} {
		v.check(f.x >= 0 && f.x < 1, p+f.name, "must be in [0, 1)", f.x)
	}
	v.check(e.SMTPRefuse+e.SMTPSlow+e.SMTPDrop < 1, p+"smtp_refuse", "smtp_refuse + smtp_slow + smtp_drop must be < 1", e.SMTPRefuse+e.SMTPSlow+e.SMTPDrop)
	if s.Clock != "virtual" {
		v.errorf(p[:len(p)-1], "needs clock: virtual, got %s", quote(s.Clock))
	}
	if len(s.Compare) > 0 {
		v.errorf(p[:len(p)-1], "cannot run with compare peers (they would send the e-mails too)")
	}
}
