// Package mailbox is where the harness receives the scheduler's e-mail: an
// embedded SMTP server (github.com/emersion/go-smtp) on loopback that
// records every accepted message with its receive time on the run's clock,
// with injectable faults on the mail path; and a reader for a real server,
// Mailpit, through its HTTP API. Both yield the same Received records, which
// the harness writes to history.jsonl as "mail" records for the checker.
package mailbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/mail"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/stormsim/stormsim/sim/history"
)

// Header names the scheduler's mailer sets (coordinator/smtpmail).
const (
	HeaderEvent = "X-Stormsim-Event"
	HeaderDue   = "X-Stormsim-Due"
)

// Received is one message as the server accepted it.
type Received struct {
	EventID   string
	MessageID string
	// At is the receive time on the server's clock (the run's clock for
	// the embedded server, Mailpit's wall clock for Mailpit).
	At     time.Time
	Header mail.Header
}

// Faults are the mail path's faults, each a share of SMTP sessions, drawn
// from a seeded source in session order.
type Faults struct {
	// Refuse answers MAIL FROM with 451 (a transient refusal).
	Refuse float64
	// Slow delays the RCPT reply by SlowDelay (real time).
	Slow      float64
	SlowDelay time.Duration
	// Drop closes the connection in the middle of DATA, before the message
	// is accepted: the client cannot tell whether it was.
	Drop float64
}

// Stats counts what the server did.
type Stats struct {
	Sessions int64 `json:"sessions"`
	Refused  int64 `json:"refused"`
	Slowed   int64 `json:"slowed"`
	Dropped  int64 `json:"dropped"`
	Accepted int64 `json:"accepted"`
	// Overflow counts accepted messages not recorded because the record
	// was full: a run that overflows cannot be checked.
	Overflow int64 `json:"overflow"`
}

// Options configure a Server.
type Options struct {
	// Now is the run's clock (default time.Now). It is read from the
	// server's goroutines while a client waits for the DATA reply.
	Now func() time.Time
	// MaxMessages bounds the record (default 100,000).
	MaxMessages int
	Faults      Faults
	Seed        uint64
}

// Server is the embedded SMTP server.
type Server struct {
	o   Options
	srv *smtp.Server
	ln  *trackedListener
	wg  sync.WaitGroup // Serve
	// closing interrupts injected delays.
	closing chan struct{}

	mu    sync.Mutex
	rng   *rand.Rand
	msgs  []Received
	stats Stats

	closeOnce sync.Once
	closeErr  error
}

// Start listens on addr (for example 127.0.0.1:0) and serves until Close.
func Start(addr string, o Options) (*Server, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.MaxMessages <= 0 {
		o.MaxMessages = 100_000
	}
	f := o.Faults
	for name, p := range map[string]float64{"refuse": f.Refuse, "slow": f.Slow, "drop": f.Drop} {
		if p < 0 || p >= 1 {
			return nil, fmt.Errorf("start mailbox: fault %s share %v not in [0, 1)", name, p)
		}
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("start mailbox: %w", err)
	}
	s := &Server{o: o, rng: rand.New(rand.NewPCG(o.Seed, 0x6d61696c))}
	s.ln = &trackedListener{Listener: ln, conns: map[*trackedConn]bool{}}
	s.closing = make(chan struct{})
	s.srv = smtp.NewServer(smtp.BackendFunc(s.newSession))
	s.srv.Domain = "stormsim.mailbox"
	s.srv.MaxRecipients = 10
	s.srv.MaxMessageBytes = 1 << 20
	s.srv.ReadTimeout, s.srv.WriteTimeout = time.Minute, time.Minute
	s.srv.ErrorLog = log.New(io.Discard, "", 0)
	s.wg.Go(func() { _ = s.srv.Serve(s.ln) })
	return s, nil
}

// Addr is the host:port the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close stops the server and waits for it. Idempotent.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		// Close the listener first (Serve may not have registered it with
		// the server yet), cut the open sessions, then wait for every
		// session goroutine: go-smtp's Close would not wait for them.
		close(s.closing)
		_ = s.ln.Close()
		s.ln.closeAll()
		s.closeErr = s.srv.Shutdown(context.Background())
		s.wg.Wait()
		if errors.Is(s.closeErr, smtp.ErrServerClosed) || errors.Is(s.closeErr, net.ErrClosed) {
			s.closeErr = nil
		}
	})
	return s.closeErr
}

// Messages returns a copy of the record, in receive order.
func (s *Server) Messages() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Received(nil), s.msgs...)
}

// Stats returns a copy of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// fault is what one session suffers.
type fault int

const (
	faultNone fault = iota
	faultRefuse
	faultSlow
	faultDrop
)

func (s *Server) newSession(c *smtp.Conn) (smtp.Session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.Sessions++
	f := s.o.Faults
	x := s.rng.Float64()
	ft := faultNone
	switch {
	case x < f.Refuse:
		ft = faultRefuse
	case x < f.Refuse+f.Slow:
		ft = faultSlow
	case x < f.Refuse+f.Slow+f.Drop:
		ft = faultDrop
	}
	return &session{s: s, c: c, fault: ft}, nil
}

type session struct {
	s     *Server
	c     *smtp.Conn
	fault fault
}

func (ss *session) Reset()        {}
func (ss *session) Logout() error { return nil }

func (ss *session) Mail(string, *smtp.MailOptions) error {
	if ss.fault == faultRefuse {
		ss.s.count(func(st *Stats) { st.Refused++ })
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later (injected)"}
	}
	return nil
}

func (ss *session) Rcpt(string, *smtp.RcptOptions) error {
	if ss.fault == faultSlow {
		ss.s.count(func(st *Stats) { st.Slowed++ })
		t := time.NewTimer(ss.s.o.Faults.SlowDelay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ss.s.closing:
		}
	}
	return nil
}

func (ss *session) Data(r io.Reader) error {
	if ss.fault == faultDrop {
		ss.s.count(func(st *Stats) { st.Dropped++ })
		_, _ = io.CopyN(io.Discard, r, 64)
		_ = ss.c.Close()
		return errors.New("connection dropped (injected)")
	}
	m, err := mail.ReadMessage(r)
	if err != nil {
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "malformed message"}
	}
	_, _ = io.Copy(io.Discard, m.Body)
	rec := Received{
		EventID:   m.Header.Get(HeaderEvent),
		MessageID: strings.TrimSpace(m.Header.Get("Message-ID")),
		At:        ss.s.o.Now(),
		Header:    m.Header,
	}
	ss.s.mu.Lock()
	defer ss.s.mu.Unlock()
	ss.s.stats.Accepted++
	if len(ss.s.msgs) >= ss.s.o.MaxMessages {
		ss.s.stats.Overflow++
		return nil
	}
	ss.s.msgs = append(ss.s.msgs, rec)
	return nil
}

func (s *Server) count(f func(*Stats)) {
	s.mu.Lock()
	f(&s.stats)
	s.mu.Unlock()
}

// trackedListener keeps the accepted connections, so Close can cut them.
type trackedListener struct {
	net.Listener
	mu    sync.Mutex
	conns map[*trackedConn]bool
}

func (l *trackedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	tc := &trackedConn{Conn: c, l: l}
	l.mu.Lock()
	l.conns[tc] = true
	l.mu.Unlock()
	return tc, nil
}

// closeAll closes every open connection.
func (l *trackedListener) closeAll() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for c := range l.conns {
		_ = c.Conn.Close()
	}
}

type trackedConn struct {
	net.Conn
	l *trackedListener
}

func (c *trackedConn) Close() error {
	c.l.mu.Lock()
	delete(c.l.conns, c)
	c.l.mu.Unlock()
	return c.Conn.Close()
}

// Records turns received messages into history mail records; at maps a
// receive time to the run's clock (nil: as received).
func Records(rs []Received, server string, at func(r Received) time.Time) []history.Mail {
	out := make([]history.Mail, 0, len(rs))
	for _, r := range rs {
		t := r.At
		if at != nil {
			t = at(r)
		}
		out = append(out, history.Mail{T: history.KindMail, Event: r.EventID, MessageID: r.MessageID, Received: t, Server: server})
	}
	return out
}
