// Package smtpmail is the deployable scheduler.Mailer: it delivers each
// message over SMTP (github.com/emersion/go-smtp's client), one connection
// per attempt, retrying transient failures with backoff.
//
// Every message carries its event id in X-Stormsim-Event, its due time in
// X-Stormsim-Due and a Message-ID derived from the event id
// (scheduler.Message.MessageID), so a resend after an unknown outcome is
// recognisable as the same message.
//
// Failures are classified for scheduler.Mail: a refusal (a 4xx or 5xx
// reply) or a connection lost before the end of the message means the
// server did not take it; a connection lost (or timed out) after the final
// dot, before the reply, wraps scheduler.ErrMaybeSent and is not retried
// here, since a retry could deliver twice.
package smtpmail

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/stormsim/stormsim/coordinator/scheduler"
	"github.com/stormsim/stormsim/internal/syncx"
)

var _ scheduler.Mailer = (*Mailer)(nil)

// Header names every message carries.
const (
	HeaderEvent = "X-Stormsim-Event"
	HeaderDue   = "X-Stormsim-Due"
	HeaderRun   = "X-Stormsim-Run"
)

// Mailer sends over SMTP to Addr. The zero value of every field but Addr
// takes the default noted.
type Mailer struct {
	Addr string // host:port
	// Run, when set, goes into X-Stormsim-Run so a reader can pick one run's
	// messages out of a shared mailbox.
	Run string
	// Timeout bounds one attempt (default 10s).
	Timeout time.Duration
	// Attempts is how many times a transient failure is tried (default 3).
	Attempts int
	// Backoff is the wait before the second attempt, doubled after each
	// (default 200ms).
	Backoff time.Duration
	// Sleep waits between attempts (default a timer; a simulation passes
	// one that spends virtual time).
	Sleep func(ctx context.Context, d time.Duration) error
	// Now dates the message (default time.Now).
	Now func() time.Time
	// OnAttempt, when set, is called after every attempt with its error
	// (nil: accepted), for a harness's tallies.
	OnAttempt func(m scheduler.Message, err error)
}

// Send implements scheduler.Mailer.
func (s *Mailer) Send(ctx context.Context, m scheduler.Message) error {
	attempts := s.Attempts
	if attempts <= 0 {
		attempts = 3
	}
	backoff := s.Backoff
	if backoff <= 0 {
		backoff = 200 * time.Millisecond
	}
	body := s.format(m)
	var err error
	for i := range attempts {
		if i > 0 {
			if serr := s.sleep(ctx, backoff); serr != nil {
				return fmt.Errorf("send %s: %w (after: %w)", m.EventID, serr, err)
			}
			backoff *= 2
		}
		err = s.attempt(ctx, m, body)
		if s.OnAttempt != nil {
			s.OnAttempt(m, err)
		}
		if err == nil || errors.Is(err, scheduler.ErrMaybeSent) || permanent(err) {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("send %s: %w", m.EventID, err)
	}
	return nil
}

// attempt delivers once on a fresh connection.
func (s *Mailer) attempt(ctx context.Context, m scheduler.Message, body []byte) error {
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", s.Addr)
	if err != nil {
		return fmt.Errorf("dial: %w", err)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	c := smtp.NewClient(conn)
	c.CommandTimeout, c.SubmissionTimeout = timeout, timeout
	defer func() { _ = c.Close() }()
	if err := c.Mail(m.From, nil); err != nil {
		return fmt.Errorf("mail from: %w", err)
	}
	if err := c.Rcpt(m.To, nil); err != nil {
		return fmt.Errorf("rcpt to: %w", err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("data: %w", err)
	}
	if _, err := w.Write(body); err != nil {
		return fmt.Errorf("write data: %w", err)
	}
	if err := w.Close(); err != nil {
		var se *smtp.SMTPError
		if errors.As(err, &se) {
			return fmt.Errorf("end data: %w", err) // the server answered: refused
		}
		return fmt.Errorf("end data: %w: %w", scheduler.ErrMaybeSent, err)
	}
	_ = c.Quit() // accepted; a failed QUIT changes nothing
	return nil
}

// permanent reports a 5xx reply: retrying the same message will not help.
func permanent(err error) bool {
	var se *smtp.SMTPError
	return errors.As(err, &se) && se.Code >= 500
}

func (s *Mailer) sleep(ctx context.Context, d time.Duration) error {
	if s.Sleep != nil {
		return s.Sleep(ctx, d)
	}
	return syncx.Sleep(ctx, d)
}

// format renders m as an RFC 5322 message with CRLF line ends.
func (s *Mailer) format(m scheduler.Message) []byte {
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	var b bytes.Buffer
	h := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, oneLine(v)) }
	h("From", m.From)
	h("To", m.To)
	h("Subject", m.Subject)
	h("Date", now().Format(time.RFC1123Z))
	h("Message-ID", m.MessageID())
	h(HeaderEvent, m.EventID)
	h(HeaderDue, m.Due.UTC().Format(time.RFC3339Nano))
	if s.Run != "" {
		h(HeaderRun, s.Run)
	}
	h("MIME-Version", "1.0")
	h("Content-Type", "text/plain; charset=utf-8")
	b.WriteString("\r\n")
	for line := range strings.Lines(m.Body) {
		b.WriteString(strings.TrimRight(line, "\r\n"))
		b.WriteString("\r\n")
	}
	return b.Bytes()
}

// oneLine keeps a header value from breaking the header block.
func oneLine(v string) string {
	return strings.NewReplacer("\r", " ", "\n", " ").Replace(v)
}
