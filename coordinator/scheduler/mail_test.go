package scheduler_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/stormsim/stormsim/coordinator/scheduler"
)

// fakeMailer records what reached the "server" and fails as scripted: each
// call pops the next error (nil once the script is empty). delivered says
// whether a scripted error still left the message at the server.
type fakeMailer struct {
	mu        sync.Mutex
	script    []error
	delivered []string // Message-IDs the server holds, in order
	calls     int
}

var errRefused = errors.New("451 try later")

func (f *fakeMailer) Send(_ context.Context, m scheduler.Message) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	var err error
	if len(f.script) > 0 {
		err, f.script = f.script[0], f.script[1:]
	}
	if err == nil || errors.Is(err, scheduler.ErrMaybeSent) {
		// A lost reply: the server kept the message, the client cannot know.
		f.delivered = append(f.delivered, m.MessageID())
	}
	return err
}

// brokenLedger fails MarkSent, as a crash between send and mark would
// leave it.
type brokenLedger struct{ scheduler.Ledger }

func (brokenLedger) MarkSent(context.Context, string) error { return errors.New("connection reset") }

type ledgerKind struct {
	name string
	// make returns a fresh ledger and a func that moves its clock on.
	make func(t *testing.T) (scheduler.Ledger, func(time.Duration))
}

var ledgers = []ledgerKind{
	{"memory", func(*testing.T) (scheduler.Ledger, func(time.Duration)) {
		now := time.Date(2025, 1, 6, 0, 0, 0, 0, time.UTC)
		return scheduler.NewMemLedger(func() time.Time { return now }), func(d time.Duration) { now = now.Add(d) }
	}},
	{"redis", func(t *testing.T) (scheduler.Ledger, func(time.Duration)) {
		mr := miniredis.RunT(t)
		c := redis.NewClient(&redis.Options{Addr: mr.Addr()})
		t.Cleanup(func() { _ = c.Close() })
		return scheduler.NewRedisLedger(c, "t"), mr.FastForward
	}},
}

func compose(ev scheduler.Event) (scheduler.Message, error) {
	return scheduler.Message{EventID: ev.ID, Due: ev.Due, From: "a@x", To: "b@x", Subject: "hi"}, nil
}

// step is one run of the event's e-mail, after the ledger clock moved by
// advance.
type step struct {
	advance time.Duration
	want    scheduler.Outcome // 0: an error
	wantErr error             // with want 0: errors.Is this (nil: any error)
}

func TestMail_Send_Steps(t *testing.T) {
	const lease = time.Minute
	tests := []struct {
		name   string
		script []error
		broken bool // MarkSent fails
		off    bool // GuardMailClaim disabled (the mutant)
		dead   bool // a sender claimed the id and died before sending
		steps  []step
		// wantDelivered is how many copies the server holds at the end.
		wantDelivered int
	}{
		{name: "duplicate runs send once",
			steps: []step{{0, scheduler.OutcomeSent, nil}, {0, scheduler.OutcomeAlreadySent, nil},
				{2 * lease, scheduler.OutcomeAlreadySent, nil}},
			wantDelivered: 1},
		{name: "refused: released, the retry sends at once",
			script:        []error{errRefused},
			steps:         []step{{0, 0, errRefused}, {0, scheduler.OutcomeSent, nil}, {0, scheduler.OutcomeAlreadySent, nil}},
			wantDelivered: 1},
		{name: "maybe sent: claim kept until the lease ends, then resent (window one)",
			script: []error{fmt.Errorf("read reply: %w", scheduler.ErrMaybeSent)},
			steps: []step{{0, 0, scheduler.ErrMaybeSent}, {lease / 2, 0, scheduler.ErrClaimHeld},
				{lease, scheduler.OutcomeSent, nil}, {0, scheduler.OutcomeAlreadySent, nil}},
			wantDelivered: 2},
		{name: "mark fails: success, held until the lease ends, then resent (window two)",
			broken: true,
			steps: []step{{0, scheduler.OutcomeSentUnmarked, nil}, {lease / 2, 0, scheduler.ErrClaimHeld},
				{lease, scheduler.OutcomeSentUnmarked, nil}},
			wantDelivered: 2},
		{name: "sender died after its claim, before sending: held until the lease ends, then sent once",
			dead: true,
			steps: []step{{0, 0, scheduler.ErrClaimHeld}, {lease / 2, 0, scheduler.ErrClaimHeld},
				{lease, scheduler.OutcomeSent, nil}, {0, scheduler.OutcomeAlreadySent, nil}},
			wantDelivered: 1},
		{name: "mutant without the claim sends every run",
			off:           true,
			steps:         []step{{0, scheduler.OutcomeSent, nil}, {0, scheduler.OutcomeSent, nil}},
			wantDelivered: 2},
	}
	for _, lk := range ledgers {
		for _, tc := range tests {
			t.Run(lk.name+"/"+tc.name, func(t *testing.T) {
				led, advance := lk.make(t)
				if tc.broken {
					led = brokenLedger{led}
				}
				fm := &fakeMailer{script: tc.script}
				o := scheduler.MailOptions{Mailer: fm, Ledger: led, Compose: compose, Lease: lease}
				if tc.off {
					o.Hooks = &scheduler.Hooks{Disabled: func(g string) bool { return g == scheduler.GuardMailClaim }}
				}
				m, err := scheduler.NewMail(o)
				if err != nil {
					t.Fatal(err)
				}
				ev := scheduler.Event{ID: "e1", Due: time.Unix(0, 0)}
				if tc.dead {
					if st, err := led.Claim(context.Background(), ev.ID, "dead", lease); err != nil || st != scheduler.ClaimTaken {
						t.Fatalf("dead sender's claim: %v %v", st, err)
					}
				}
				for i, s := range tc.steps {
					advance(s.advance)
					got, err := m.Send(context.Background(), ev)
					if s.want == 0 {
						if err == nil || (s.wantErr != nil && !errors.Is(err, s.wantErr)) {
							t.Fatalf("step %d: outcome %v err %v, want error %v", i, got, err, s.wantErr)
						}
						continue
					}
					if err != nil || got != s.want {
						t.Fatalf("step %d: outcome %v err %v, want %v", i, got, err, s.want)
					}
				}
				if len(fm.delivered) != tc.wantDelivered {
					t.Fatalf("server holds %d copies %v, want %d", len(fm.delivered), fm.delivered, tc.wantDelivered)
				}
				for _, id := range fm.delivered {
					if id != "<e1@stormsim.event>" {
						t.Fatalf("Message-ID %q not derived from the event id", id)
					}
				}
			})
		}
	}
}

// TestMail_Send_ConcurrentRunsSendOnce races many runs of one event (a
// duplicate fire on several handlers): one sends, the rest see it held or
// sent.
func TestMail_Send_ConcurrentRunsSendOnce(t *testing.T) {
	for _, lk := range ledgers {
		t.Run(lk.name, func(t *testing.T) {
			led, _ := lk.make(t)
			fm := &fakeMailer{}
			m, err := scheduler.NewMail(scheduler.MailOptions{Mailer: fm, Ledger: led, Compose: compose})
			if err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			for range 16 {
				wg.Go(func() {
					_, err := m.Send(context.Background(), scheduler.Event{ID: "e7"})
					if err != nil && !errors.Is(err, scheduler.ErrClaimHeld) {
						t.Error(err)
					}
				})
			}
			wg.Wait()
			if len(fm.delivered) != 1 {
				t.Fatalf("%d copies sent, want 1", len(fm.delivered))
			}
		})
	}
}

func TestNewMail_RequiresParts(t *testing.T) {
	if _, err := scheduler.NewMail(scheduler.MailOptions{}); err == nil {
		t.Fatal("NewMail accepted no Mailer, Ledger or Compose")
	}
}
