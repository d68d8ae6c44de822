package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/stormsim/stormsim/scenarios"
)

func TestMailOptions_Server(t *testing.T) {
	email, err := scenarios.Parse("e.yaml", []byte("scheduler:\n  days: 0.1\n  email: {}\n"))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := scenarios.Parse("p.yaml", []byte("scheduler:\n  days: 0.1\n"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		o       mailOptions
		sc      *scenarios.Scenario
		wantErr string // "" = ok
	}{
		{"none", mailOptions{}, plain, ""},
		{"mailpit", mailOptions{smtp: "127.0.0.1:1025", api: "http://127.0.0.1:8025"}, email, ""},
		{"smtp alone", mailOptions{smtp: "127.0.0.1:1025"}, email, "go together"},
		{"api alone", mailOptions{api: "http://127.0.0.1:8025"}, email, "go together"},
		{"no port", mailOptions{smtp: "localhost", api: "http://127.0.0.1:8025"}, email, "want HOST:PORT"},
		{"api not a URL", mailOptions{smtp: "127.0.0.1:1025", api: "127.0.0.1:8025"}, email, "want an http://"},
		{"scenario without e-mail", mailOptions{smtp: "127.0.0.1:1025", api: "http://127.0.0.1:8025"}, plain, "sends no e-mail"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ms, err := tc.o.server(tc.sc)
			if tc.wantErr == "" {
				if err != nil || ms.SMTP != tc.o.smtp || ms.API != tc.o.api {
					t.Fatalf("server %+v, err %v", ms, err)
				}
				return
			}
			var ue usageError
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.As(err, &ue) {
				t.Fatalf("err %v, want a usage error with %q", err, tc.wantErr)
			}
		})
	}
}
