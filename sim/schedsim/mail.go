package schedsim

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stormsim/stormsim/coordinator/scheduler"
)

// MailConfig makes every event of the main strategy a reminder e-mail: its
// effect is scheduler.Mail, sending through the Mailer over a MemLedger on
// the run's clock. Virtual runs only.
type MailConfig struct {
	// Mailer builds the run's Mailer; sleep spends the run's time (virtual
	// time inside the handler), for the Mailer's backoff.
	Mailer func(sleep func(context.Context, time.Duration) error) scheduler.Mailer
	// Clock, when set, is published the run's instant before every send
	// attempt, so a server on another goroutine can read the run's clock.
	Clock *RunClock
	// Domain is the Message-ID domain (default stormsim.event).
	Domain string
	// Lease is the ledger claim's lease (default 5 x Resolution).
	Lease time.Duration
	// CrashAfterSend is the share of events whose handler fails right after
	// the first successful send (a retried handler): the scheduler puts the
	// event back and runs it again.
	CrashAfterSend float64
	// Reinsert is the share of events inserted again after they ran (a
	// sign-up service retrying an insert that was in fact stored): the
	// event is pending again and runs again.
	Reinsert float64
	// Hooks break Mail for the self-test (GuardMailClaim).
	Hooks *scheduler.Hooks
}

// MailResult counts what the mail effect did (results.json email).
type MailResult struct {
	Sent        int64 `json:"sent"`         // sends the ledger recorded
	AlreadySent int64 `json:"already_sent"` // runs that found the e-mail sent: nothing sent
	Unmarked    int64 `json:"unmarked"`     // sends whose mark failed
	Failures    int64 `json:"failures"`     // runs that failed (the event was retried)
	MaybeSent   int64 `json:"maybe_sent"`   // failures with an unknown outcome
	ClaimHeld   int64 `json:"claim_held"`   // failures: another run held the claim
	Crashes     int64 `json:"crashes"`      // injected handler failures after a send
	Reinserts   int64 `json:"reinserts"`    // injected second inserts
}

// mailer is one run's mail effect.
type mailer struct {
	e     *env
	cfg   *MailConfig
	mail  *scheduler.Mail
	pick  func(share float64) bool // a seeded draw
	res   MailResult
	fault map[string]bool // crash injected for this event already
	cur   string          // the event being sent
}

func (c Config) checkMail() error {
	m := c.Mail
	if m == nil {
		return nil
	}
	switch {
	case m.Mailer == nil:
		return fmt.Errorf("%w: mail: no mailer", ErrConfig)
	case c.Wall:
		return fmt.Errorf("%w: mail: virtual clock only", ErrConfig)
	case len(c.strategies()) > 1:
		return fmt.Errorf("%w: mail: no compare peers (they would send too)", ErrConfig)
	case m.CrashAfterSend < 0 || m.CrashAfterSend >= 1 || m.Reinsert < 0 || m.Reinsert >= 1:
		return fmt.Errorf("%w: mail: crash_after_send %v and reinsert %v must be in [0, 1)", ErrConfig, m.CrashAfterSend, m.Reinsert)
	}
	return nil
}

func newMailer(e *env) (*mailer, error) {
	cfg := e.cfg.Mail
	m := &mailer{e: e, cfg: cfg, fault: map[string]bool{}}
	if cfg.Clock != nil {
		cfg.Clock.publish("", e.now())
	}
	lease := cfg.Lease
	if lease <= 0 {
		lease = 5 * e.cfg.Resolution
	}
	r := e.cfg.rng("mail")
	m.pick = func(share float64) bool { return share > 0 && r.Float64() < share }
	var err error
	m.mail, err = scheduler.NewMail(scheduler.MailOptions{
		Mailer: publishing{m, cfg.Mailer(m.sleep)}, Ledger: scheduler.NewMemLedger(e.now), Lease: lease, Hooks: cfg.Hooks,
		Compose: func(ev scheduler.Event) (scheduler.Message, error) {
			return scheduler.Message{EventID: ev.ID, Due: ev.Due, From: "reminders@stormsim.test",
				To: "user-" + ev.ID + "@stormsim.test", Subject: "Your storage: getting started",
				Body: "Welcome! This reminder was due " + ev.Due.Format(time.RFC3339) + ".", Domain: cfg.Domain}, nil
		},
	})
	return m, err
}

// publishing publishes the run's clock before each send Mail decides on,
// so the clock's log holds only instants at which a message went out.
type publishing struct {
	m     *mailer
	inner scheduler.Mailer
}

func (p publishing) Send(ctx context.Context, msg scheduler.Message) error {
	p.m.cur = msg.EventID
	if c := p.m.cfg.Clock; c != nil {
		c.publish(msg.EventID, p.m.e.now())
	}
	return p.inner.Send(ctx, msg)
}

// sleep spends d of the handler's virtual time (a backoff between two
// attempts) and publishes the clock for the next attempt.
func (m *mailer) sleep(ctx context.Context, d time.Duration) error {
	m.e.busy += d
	if m.cfg.Clock != nil {
		m.cfg.Clock.publish(m.cur, m.e.now())
	}
	return ctx.Err()
}

// effect is the Runner in mail runs: it sends, records a run only when
// this run sent, and injects the configured faults.
func (m *mailer) effect(ctx context.Context, ev scheduler.Event) error {
	out, err := m.send(ctx, ev)
	if err != nil {
		return err
	}
	if out == scheduler.OutcomeAlreadySent {
		return nil
	}
	if err := m.e.effect(ctx, ev); err != nil {
		return err
	}
	if !m.fault[ev.ID] && m.pick(m.cfg.CrashAfterSend) {
		m.fault[ev.ID] = true
		m.res.Crashes++
		return errors.New("handler crashed after sending (injected)")
	}
	if m.pick(m.cfg.Reinsert) {
		m.res.Reinserts++
		m.e.clk.AfterFunc(m.e.cfg.Resolution*3, func() {
			if err := m.e.schedule(m.e.ctx, ev); err != nil {
				m.e.countError()
			}
		})
	}
	return nil
}

// send runs Mail, publishing the clock again after each backoff.
func (m *mailer) send(ctx context.Context, ev scheduler.Event) (scheduler.Outcome, error) {
	out, err := m.mail.Send(ctx, ev)
	switch {
	case err == nil && out == scheduler.OutcomeAlreadySent:
		m.res.AlreadySent++
	case err == nil:
		m.res.Sent++
		if out == scheduler.OutcomeSentUnmarked {
			m.res.Unmarked++
		}
	default:
		m.res.Failures++
		if errors.Is(err, scheduler.ErrMaybeSent) {
			m.res.MaybeSent++
		}
		if errors.Is(err, scheduler.ErrClaimHeld) {
			m.res.ClaimHeld++
		}
	}
	return out, err
}

// RunClock is a run's clock as another goroutine (a mail server) may read
// it: in a virtual run, the instant a handler stands at when it starts a
// send, published by the run. It also keeps, per event, when (wall clock)
// each instant was published, so a real server's wall-clock receive time
// can be mapped to the run's clock (Map).
type RunClock struct {
	ns atomic.Int64

	mu  sync.Mutex
	log map[string][]clockPoint
}

type clockPoint struct{ wall, run time.Time }

// NewRunClock returns a clock standing at the zero time until published.
func NewRunClock() *RunClock { return &RunClock{log: map[string][]clockPoint{}} }

// Now returns the last published instant.
func (c *RunClock) Now() time.Time { return time.Unix(0, c.ns.Load()).UTC() }

func (c *RunClock) publish(event string, t time.Time) {
	c.ns.Store(t.UnixNano())
	if event == "" {
		return
	}
	c.mu.Lock()
	c.log[event] = append(c.log[event], clockPoint{wall: time.Now(), run: t})
	c.mu.Unlock()
}

// Map converts a wall-clock receive time of event's e-mail into the run's
// clock: the instant published by the last send attempt for the event that
// started at or before wall (rounded up to the millisecond, the precision
// of Mailpit's times). The run's clock does not move while an attempt is
// under way, so that is the run's time of the receipt; only attempts are
// logged, and no attempt for an event follows its delivery unless the
// e-mail is sent again, so the rounding cannot pick a later one.
func (c *RunClock) Map(event string, wall time.Time) (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	pts := c.log[event]
	if len(pts) == 0 {
		return time.Time{}, false
	}
	w := wall.Truncate(time.Millisecond).Add(time.Millisecond)
	i := sort.Search(len(pts), func(i int) bool { return pts[i].wall.After(w) })
	if i == 0 {
		return pts[0].run, true
	}
	return pts[i-1].run, true
}
