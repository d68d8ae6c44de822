package scheduler

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// E-mail from the scheduler: the seed's scheduler exists to send automated
// e-mail (reminders to new users). Mail is a Runner that turns an event into
// one message and hands it to a Mailer, at most one successful hand-off per
// event id, guarded by a Ledger.
//
// # What is guaranteed
//
// Exactly once, except in two windows where it is at least once with the
// same Message-ID (so a reader that dedupes by Message-ID, or by the
// X-Stormsim-Event header, sees exactly once):
//
//  1. Claim: Mail takes a claim on the event id in the Ledger, atomically,
//     with a lease. A second caller (a duplicate fire, a re-inserted event,
//     a retried handler, a second process) finds the id sent (it does
//     nothing and succeeds) or claimed (ErrClaimHeld: it fails and the
//     scheduler retries the event at its next wake-up).
//  2. Send: the Mailer delivers. A failure that certainly left nothing at
//     the server (refused, connection lost before the message was sent)
//     releases the claim: the retry sends at once. A failure after the
//     whole message was sent but before the server's reply (ErrMaybeSent)
//     keeps the claim: the retry waits for the lease to end and then sends
//     again. Window one: if the server had in fact accepted the message,
//     that resend is a duplicate.
//  3. Mark: Mail marks the id sent. A mark that fails is reported as
//     OutcomeSentUnmarked and the run still succeeds, so the scheduler does
//     not retry it. Window two: a crash, or a failed mark, between send and
//     mark leaves only the claim; once its lease has expired another run of
//     the same event id (a re-insert; the scheduler itself never re-runs an
//     event it claimed with MarkDone) sends again. A crash before the send
//     (after the scheduler's MarkDone) loses the e-mail: the scheduler's
//     claim has no lease, so nothing runs the event again.
//
// The lease must outlast the Mailer's longest Send (all its attempts);
// otherwise two senders can both hold a claim in turn and both send.

// Message is one e-mail a scheduled event sends.
type Message struct {
	EventID string
	Due     time.Time
	From    string
	To      string
	Subject string
	Body    string
	// Domain is the Message-ID's right-hand side (default stormsim.event);
	// a run may set its own so a reader can find its messages.
	Domain string
}

// MessageID is the Message-ID header value derived from the event id (and
// Domain) alone, so every attempt and every resend of one event's e-mail
// carries the same one.
func (m Message) MessageID() string {
	d := m.Domain
	if d == "" {
		d = "stormsim.event"
	}
	return "<" + m.EventID + "@" + d + ">"
}

// Mailer delivers one message (an SMTP client in deployment). An error means
// the message was not delivered, unless it wraps ErrMaybeSent: then the
// outcome is unknown (the connection failed after the whole message was
// sent, before the server answered).
type Mailer interface {
	Send(ctx context.Context, m Message) error
}

// ErrMaybeSent marks a Mailer error after which the message may have been
// accepted.
var ErrMaybeSent = errors.New("mail outcome unknown")

// ErrClaimHeld is returned by Mail.Send when another sender holds an
// unexpired claim on the event id; retry later.
var ErrClaimHeld = errors.New("mail claim held by another sender")

// ClaimState is what Ledger.Claim found.
type ClaimState int

// Claim states.
const (
	ClaimTaken ClaimState = iota // the caller now holds the claim: send
	ClaimSent                    // already sent: do nothing
	ClaimHeld                    // another sender holds an unexpired claim
)

// Ledger records, per event id, whether its e-mail was sent. Every method
// is atomic per id and strongly consistent.
type Ledger interface {
	// Claim takes the claim on id under token for lease, unless id is sent
	// or claimed by a lease that has not expired.
	Claim(ctx context.Context, id, token string, lease time.Duration) (ClaimState, error)
	// MarkSent records that id's e-mail was sent (whoever holds the claim).
	MarkSent(ctx context.Context, id string) error
	// Release drops the claim on id if token still holds it.
	Release(ctx context.Context, id, token string) error
}

// Outcome is what one Mail.Send did.
type Outcome int

// Outcomes of Mail.Send.
const (
	OutcomeSent         Outcome = iota + 1 // sent and marked
	OutcomeSentUnmarked                    // sent; the mark failed (see window two)
	OutcomeAlreadySent                     // the ledger says sent: nothing done
)

// MailOptions configures Mail.
type MailOptions struct {
	Mailer Mailer
	Ledger Ledger
	// Compose builds the message of an event.
	Compose func(Event) (Message, error)
	// Lease is how long a claim holds (default 5 minutes).
	Lease time.Duration
	// Token returns a fresh claim token (default 16 random bytes, hex).
	Token func() string
	// Hooks are for a harness's self-test (GuardMailClaim); nil in every
	// real deployment.
	Hooks *Hooks
}

// Mail sends each event's e-mail once (see the guarantee above).
type Mail struct{ o MailOptions }

// NewMail checks o and fills in defaults.
func NewMail(o MailOptions) (*Mail, error) {
	if o.Mailer == nil || o.Ledger == nil || o.Compose == nil {
		return nil, fmt.Errorf("new mail: Mailer, Ledger and Compose are required")
	}
	if o.Lease <= 0 {
		o.Lease = 5 * time.Minute
	}
	if o.Token == nil {
		o.Token = randomToken
	}
	return &Mail{o: o}, nil
}

// Run is a Runner: Send, keeping only the error.
func (m *Mail) Run(ctx context.Context, ev Event) error {
	_, err := m.Send(ctx, ev)
	return err
}

// Send composes ev's message and delivers it unless the ledger says it was
// sent. An error means the scheduler should retry the event later.
func (m *Mail) Send(ctx context.Context, ev Event) (Outcome, error) {
	msg, err := m.o.Compose(ev)
	if err != nil {
		return 0, fmt.Errorf("compose mail %s: %w", ev.ID, err)
	}
	if !m.on(GuardMailClaim) {
		if err := m.o.Mailer.Send(ctx, msg); err != nil {
			return 0, fmt.Errorf("send mail %s: %w", ev.ID, err)
		}
		return OutcomeSent, nil
	}
	token := m.o.Token()
	st, err := m.o.Ledger.Claim(ctx, ev.ID, token, m.o.Lease)
	if err != nil {
		return 0, fmt.Errorf("claim mail %s: %w", ev.ID, err)
	}
	switch st {
	case ClaimSent:
		return OutcomeAlreadySent, nil
	case ClaimHeld:
		return 0, fmt.Errorf("claim mail %s: %w", ev.ID, ErrClaimHeld)
	}
	if err := m.o.Mailer.Send(ctx, msg); err != nil {
		if !errors.Is(err, ErrMaybeSent) {
			// Nothing reached the server: let the retry send at once. A
			// failed release only delays the retry to the lease's end.
			_ = m.o.Ledger.Release(ctx, ev.ID, token)
		}
		return 0, fmt.Errorf("send mail %s: %w", ev.ID, err)
	}
	if err := m.o.Ledger.MarkSent(ctx, ev.ID); err != nil {
		return OutcomeSentUnmarked, nil
	}
	return OutcomeSent, nil
}

func (m *Mail) on(guard string) bool {
	k := m.o.Hooks
	return k == nil || k.Disabled == nil || !k.Disabled(guard)
}

func randomToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
