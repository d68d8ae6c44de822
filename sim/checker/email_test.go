package checker

import (
	"testing"
	"time"

	"github.com/stormsim/stormsim/sim/history"
)

// mailSet is three due e-mails, each received once, late by 10, 20 and 30 s.
func mailSet() *history.Set {
	due := func(s float64) time.Time { return genEpoch.Add(time.Duration(s * float64(time.Second))) }
	s := &history.Set{}
	for i, id := range []string{"e0", "e1", "e2"} {
		d := due(float64(60 * i))
		f := d.Add(5 * time.Second)
		s.Scheds = append(s.Scheds, history.Sched{T: history.KindSched, ID: id, Due: d, Fired: &f, Runs: 1, Mail: true})
		s.Mails = append(s.Mails, history.Mail{T: history.KindMail, Event: id, MessageID: "<" + id + "@x>",
			Received: d.Add(time.Duration(10*(i+1)) * time.Second), Server: "embedded"})
	}
	return s
}

func TestCheck_Email(t *testing.T) {
	tests := []struct {
		name    string
		breakIt func(s *history.Set)
		// want is the EmailStats figures that must move; zero fields must
		// stay zero.
		wantMissed, wantDup, wantDistinct, wantEarly, wantStray int
	}{
		{name: "clean", breakIt: func(*history.Set) {}},
		{name: "sent twice (a non-idempotent mailer)", breakIt: func(s *history.Set) {
			m := s.Mails[1]
			m.Received = m.Received.Add(time.Minute)
			s.Mails = append(s.Mails, m)
		}, wantDup: 1},
		{name: "sent twice with different Message-IDs", breakIt: func(s *history.Set) {
			m := s.Mails[1]
			m.MessageID = "<other@x>"
			s.Mails = append(s.Mails, m)
		}, wantDup: 1, wantDistinct: 1},
		{name: "never sent (a mailer that drops)", breakIt: func(s *history.Set) {
			s.Mails = s.Mails[:2]
		}, wantMissed: 1},
		{name: "sent before due (a mailer that ignores the due time)", breakIt: func(s *history.Set) {
			s.Mails[2].Received = s.Scheds[2].Due.Add(-time.Second)
		}, wantEarly: 1},
		{name: "mail for no event", breakIt: func(s *history.Set) {
			s.Mails = append(s.Mails, history.Mail{T: history.KindMail, Event: "e9", MessageID: "<e9@x>", Received: genEpoch})
		}, wantStray: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := mailSet()
			tc.breakIt(s)
			st := Email(s, nil)
			if st.Missed != tc.wantMissed || st.Duplicates != tc.wantDup || st.DistinctDuplicates != tc.wantDistinct ||
				st.Early != tc.wantEarly || st.Stray != tc.wantStray {
				t.Fatalf("stats %+v", st)
			}
			rep := Check(s, Options{})
			r, ok := rep.Find(NameEmail)
			if !ok {
				t.Fatal("email check did not run")
			}
			bad := tc.wantMissed + tc.wantDup + tc.wantEarly + tc.wantStray
			if r.OK != (bad == 0) || r.Violations == 0 && bad > 0 {
				t.Fatalf("email check %+v, want %d problems", r, bad)
			}
		})
	}
}

func TestEmail_Lateness(t *testing.T) {
	st := Email(mailSet(), nil)
	if len(st.Lateness) != 3 || st.Quantile(0.99) != 30 || st.Quantile(0.5) != 20 || st.Mean() != 20 {
		t.Fatalf("lateness %v p99 %v p50 %v mean %v", st.Lateness, st.Quantile(0.99), st.Quantile(0.5), st.Mean())
	}
}

func TestCheck_EmailOnlyWithMailEvents(t *testing.T) {
	s := mailSet()
	for i := range s.Scheds {
		s.Scheds[i].Mail = false
	}
	if _, ok := Check(s, Options{}).Find(NameEmail); ok {
		t.Fatal("email check ran without mail events")
	}
	// Refused inserts are not due.
	s = mailSet()
	s.Scheds[0].Refused, s.Mails = true, s.Mails[1:]
	if st := Email(s, nil); st.Due != 2 || st.Missed != 0 {
		t.Fatalf("refused counted as due: %+v", st)
	}
}
