package report

import (
	"fmt"

	"github.com/stormsim/stormsim/sim"
	"github.com/stormsim/stormsim/sim/mailbox"
	"github.com/stormsim/stormsim/sim/schedsim"
)

// Email summarises the reminder e-mails of a scheduler run with
// scheduler.email: what the mail server received, checked against the due
// events (the checker's email invariant over the history's mail records).
type Email struct {
	// Server is where the e-mails went: embedded (the harness's SMTP
	// server) or mailpit.
	Server string `json:"server"`
	// Due counts the e-mails due (events whose insert was stored);
	// Delivered those the server received at least once; Messages every
	// message the server holds for the run.
	Due       int64 `json:"due"`
	Delivered int64 `json:"delivered"`
	Messages  int64 `json:"messages"`
	// Duplicates counts copies beyond the first per e-mail;
	// DistinctDuplicates those with a Message-ID of their own (0: a reader
	// deduping by Message-ID sees each e-mail once).
	Duplicates         int64 `json:"duplicates"`
	DistinctDuplicates int64 `json:"distinct_duplicates"`
	Missed             int64 `json:"missed"`
	Early              int64 `json:"early"`
	// Stray counts messages naming no due e-mail.
	Stray int64 `json:"stray"`
	// Lateness is each e-mail's first receive time at the server minus its
	// due time (nearest-rank quantiles).
	Lateness Latency `json:"lateness_seconds"`
	// Sends is what the scheduler's mail effect did; SMTP what the
	// embedded server did (absent for a real server).
	Sends *schedsim.MailResult `json:"sends,omitempty"`
	SMTP  *mailbox.Stats       `json:"smtp,omitempty"`
}

// emailResults builds the email section of a scheduler run (nil without
// e-mail).
func emailResults(res *sim.SchedulerResult) *Email {
	er := res.Email
	if er == nil {
		return nil
	}
	st := er.Stats
	e := &Email{Server: er.Server, Due: int64(st.Due), Delivered: int64(st.Delivered), Messages: int64(st.Messages),
		Duplicates: int64(st.Duplicates), DistinctDuplicates: int64(st.DistinctDuplicates),
		Missed: int64(st.Missed), Early: int64(st.Early), Stray: int64(st.Stray), SMTP: er.SMTP,
		Sends: res.Sched.Main().Mail}
	if n := len(st.Lateness); n > 0 {
		e.Lateness = Latency{Count: int64(n), Mean: st.Mean(), P50: st.Quantile(0.5), P90: st.Quantile(0.9),
			P99: st.Quantile(0.99), P999: st.Quantile(0.999), Max: st.Lateness[n-1]}
	}
	return e
}

// emailMetric reads an email.* gate metric: no samples without an email
// section (and, for lateness, without a delivered e-mail).
func emailMetric(f func(*Email) (float64, bool)) metricReader {
	return func(r *Results) (float64, bool) {
		if r.Email == nil {
			return 0, false
		}
		return f(r.Email)
	}
}

func (s *sumWriter) email(r *Results) {
	e := r.Email
	if e == nil {
		return
	}
	s.printf("email (%s): due %d  delivered %d  messages %d  duplicates %d  missed %d  early %d  stray %d\n",
		e.Server, e.Due, e.Delivered, e.Messages, e.Duplicates, e.Missed, e.Early, e.Stray)
	l := e.Lateness
	s.printf("  lateness at the server: mean %s  p50 %s  p99 %s  max %s\n", seconds(l.Mean), seconds(l.P50), seconds(l.P99), seconds(l.Max))
	if m := e.Sends; m != nil {
		s.printf("  sends %d  already sent %d  failed runs %d (maybe sent %d, claim held %d)  injected: handler crashes %d, re-inserts %d\n",
			m.Sent, m.AlreadySent, m.Failures, m.MaybeSent, m.ClaimHeld, m.Crashes, m.Reinserts)
	}
	if t := e.SMTP; t != nil {
		s.printf("  smtp sessions %d  accepted %d  injected: refused %d, slowed %d, dropped %d\n",
			t.Sessions, t.Accepted, t.Refused, t.Slowed, t.Dropped)
	}
	s.printf("\n")
}

// emailSection is the HTML report's e-mail figures.
func emailSection(e *Email) []figure {
	if e == nil {
		return nil
	}
	return []figure{
		{"server", e.Server},
		{"e-mails due", fmt.Sprint(e.Due)},
		{"delivered", fmt.Sprint(e.Delivered)},
		{"duplicates", fmt.Sprint(e.Duplicates)},
		{"missed", fmt.Sprint(e.Missed)},
		{"early", fmt.Sprint(e.Early)},
		{"lateness p50", seconds(e.Lateness.P50)},
		{"lateness p99", seconds(e.Lateness.P99)},
		{"lateness max", seconds(e.Lateness.Max)},
	}
}
