package scenarios

import (
	"errors"
	"strings"
	"testing"
	"time"
)

const emailBase = "scheduler:\n  days: 0.1\n  email:\n"

func TestParse_Email_Bad(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"share of 1", emailBase + "    reinsert: 1\n", "x.yaml:4: scheduler.email.reinsert: must be in [0, 1), got 1"},
		{"shares add up to 1", emailBase + "    smtp_refuse: 50%\n    smtp_drop: 50%\n",
			"scheduler.email.smtp_refuse: smtp_refuse + smtp_slow + smtp_drop must be < 1"},
		{"wall clock", "scheduler:\n  days: 0.1\n  clock: wall\n  email: {}\n", `scheduler.email: needs clock: virtual, got "wall"`},
		{"peers", "scheduler:\n  days: 0.1\n  compare: [one-shot]\n  email: {}\n", "scheduler.email: cannot run with compare peers"},
		{"slow too slow", emailBase + "    smtp_slow_delay: 1m\n", "x.yaml:4: scheduler.email.smtp_slow_delay: must be in [0, 5s] (real time)"},
		{"unknown field", emailBase + "    leese: 1m\n", `scheduler.email.leese: unknown field (did you mean "lease"?)`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("x.yaml", []byte(tc.yaml))
			if err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want %q", err, tc.want)
			}
		})
	}
}

func TestParse_Email_Values(t *testing.T) {
	sc, err := Parse("x.yaml", []byte(emailBase+"    lease: 90s\n    crash_after_send: 3%\n    smtp_drop: 0.02\n"))
	if err != nil {
		t.Fatal(err)
	}
	e := sc.Scheduler.Email
	if e == nil || e.Lease != 90*time.Second || e.CrashAfterSend != 0.03 || e.SMTPDrop != 0.02 {
		t.Fatalf("email %+v", e)
	}
	if sc, err = Parse("x.yaml", []byte("scheduler:\n  days: 0.1\n")); err != nil || sc.Scheduler.Email != nil {
		t.Fatalf("no email section: %+v %v", sc.Scheduler.Email, err)
	}
}
