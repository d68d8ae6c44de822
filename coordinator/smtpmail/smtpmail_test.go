package smtpmail_test

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/stormsim/stormsim/coordinator/scheduler"
	"github.com/stormsim/stormsim/coordinator/smtpmail"
)

// server is a go-smtp server that keeps each message's raw bytes and
// answers MAIL FROM with mailErr (nil: accept).
type server struct {
	mu       sync.Mutex
	raw      []string
	sessions int
	mailErr  error
}

type session struct{ s *server }

func (s *server) start(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		s.mu.Lock()
		s.sessions++
		s.mu.Unlock()
		return session{s}, nil
	}))
	srv.Domain = "test"
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		// Shutdown waits for the sessions; closing ln ends Serve even if it
		// had not registered the listener yet.
		_ = ln.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		<-done
	})
	return ln.Addr().String()
}

func (ss session) Reset()        {}
func (ss session) Logout() error { return nil }
func (ss session) Mail(string, *smtp.MailOptions) error {
	return ss.s.mailErr
}
func (ss session) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (ss session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	ss.s.mu.Lock()
	ss.s.raw = append(ss.s.raw, string(b))
	ss.s.mu.Unlock()
	return err
}

func noWait(context.Context, time.Duration) error { return nil }

func TestMailer_Send_Headers(t *testing.T) {
	s := &server{}
	due := time.Date(2025, 1, 6, 9, 0, 0, 0, time.UTC)
	m := &smtpmail.Mailer{Addr: s.start(t), Run: "r7", Sleep: noWait, Now: func() time.Time { return due }}
	err := m.Send(context.Background(), scheduler.Message{EventID: "e42", Due: due, From: "a@x", To: "b@x",
		Subject: "Hi\r\nBcc: evil@x", Body: "line one\n.line two"})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.raw) != 1 {
		t.Fatalf("%d messages", len(s.raw))
	}
	raw := s.raw[0]
	for _, want := range []string{"Message-ID: <e42@stormsim.event>\r\n", "X-Stormsim-Event: e42\r\n",
		"X-Stormsim-Due: 2025-01-06T09:00:00Z\r\n", "X-Stormsim-Run: r7\r\n", "Subject: Hi  Bcc: evil@x\r\n",
		"\r\n\r\nline one\r\n.line two\r\n"} {
		if !strings.Contains(raw, want) {
			t.Errorf("message lacks %q:\n%s", want, raw)
		}
	}
}

func TestMailer_Send_Refusals(t *testing.T) {
	tests := []struct {
		name         string
		code         int
		wantSessions int
	}{
		{"transient 451: every attempt", 451, 3},
		{"permanent 550: one attempt", 550, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := &server{mailErr: &smtp.SMTPError{Code: tc.code, Message: "no"}}
			m := &smtpmail.Mailer{Addr: s.start(t), Attempts: 3, Sleep: noWait}
			err := m.Send(context.Background(), scheduler.Message{EventID: "e1", From: "a@x", To: "b@x"})
			if err == nil || errors.Is(err, scheduler.ErrMaybeSent) {
				t.Fatalf("err %v: want a definite failure", err)
			}
			s.mu.Lock()
			defer s.mu.Unlock()
			if s.sessions != tc.wantSessions {
				t.Fatalf("%d sessions, want %d", s.sessions, tc.wantSessions)
			}
		})
	}
}

func TestMailer_Send_NoServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	m := &smtpmail.Mailer{Addr: addr, Attempts: 2, Sleep: noWait}
	if err := m.Send(context.Background(), scheduler.Message{EventID: "e1"}); err == nil || errors.Is(err, scheduler.ErrMaybeSent) {
		t.Fatalf("err %v: want a definite failure", err)
	}
}
