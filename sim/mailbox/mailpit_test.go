package mailbox_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/stormsim/stormsim/coordinator/scheduler"
	"github.com/stormsim/stormsim/coordinator/smtpmail"
	"github.com/stormsim/stormsim/internal/testsrv"
	"github.com/stormsim/stormsim/sim/mailbox"
)

// fakeMailpit answers the two API calls Read makes, over n messages, two
// per page.
func fakeMailpit(t *testing.T, n int) *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/search", func(w http.ResponseWriter, r *http.Request) {
		if q := r.URL.Query().Get("query"); q != "message-id:run7.stormsim" {
			http.Error(w, "bad query "+q, http.StatusBadRequest)
			return
		}
		start, _ := strconv.Atoi(r.URL.Query().Get("start"))
		limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
		type msg struct {
			ID, MessageID string
			Created       time.Time
		}
		var page []msg
		for i := start; i < min(start+limit, n); i++ { // newest first
			k := n - 1 - i
			page = append(page, msg{ID: fmt.Sprint("db", k), MessageID: fmt.Sprintf("e%d@run7.stormsim", k), Created: t0.Add(time.Duration(k) * time.Second)})
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"messages_count": n, "messages": page})
	})
	mux.HandleFunc("GET /api/v1/message/{id}/headers", func(w http.ResponseWriter, r *http.Request) {
		k := r.PathValue("id")[2:]
		_ = json.NewEncoder(w).Encode(map[string][]string{"X-Stormsim-Event": {"e" + k}})
	})
	s := httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

func TestMailpit_Read_PagesOldestFirst(t *testing.T) {
	srv := fakeMailpit(t, 5)
	got, err := mailbox.Mailpit{URL: srv.URL, PageSize: 2}.Read(context.Background(), "run7.stormsim")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 5 {
		t.Fatalf("%d messages, want 5", len(got))
	}
	for i, r := range got {
		if r.EventID != fmt.Sprint("e", i) || r.MessageID != fmt.Sprintf("<e%d@run7.stormsim>", i) || !r.At.Equal(t0.Add(time.Duration(i)*time.Second)) {
			t.Fatalf("message %d: %+v", i, r)
		}
	}
}

func TestMailpit_Read_ErrorStatus(t *testing.T) {
	srv := fakeMailpit(t, 1)
	if _, err := (mailbox.Mailpit{URL: srv.URL}).Read(context.Background(), "other"); err == nil {
		t.Fatal("a 400 answer read as success")
	}
}

// mailpitBinary finds Mailpit ($STORMSIM_MAILPIT, else PATH) or skips.
func mailpitBinary(t *testing.T) string {
	if p := os.Getenv("STORMSIM_MAILPIT"); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Skipf("STORMSIM_MAILPIT: %v (.ci/mailpit.sh install builds it)", err)
		}
		return p
	}
	p, err := exec.LookPath("mailpit")
	if err != nil {
		t.Skip("mailpit not installed (go install github.com/axllent/mailpit@v1.33.1; .ci/mailpit.sh does)")
	}
	return p
}

// TestMailpit_Real sends through the real SMTP client to a real Mailpit and
// reads the messages back: a run's messages only, each with its event id,
// and a message sent twice shows up twice.
func TestMailpit_Real(t *testing.T) {
	bin := mailpitBinary(t)
	smtpPort, httpPort := testsrv.FreePort(t), testsrv.FreePort(t)
	smtpAddr, httpAddr := fmt.Sprint("127.0.0.1:", smtpPort), fmt.Sprint("127.0.0.1:", httpPort)
	testsrv.Start(t, t.TempDir(), nil, bin, "--smtp", smtpAddr, "--listen", httpAddr,
		"--database", t.TempDir()+"/mailpit.db", "--max", "0", "--smtp-disable-rdns")
	testsrv.WaitTCP(t, smtpAddr, 20*time.Second)
	testsrv.WaitTCP(t, httpAddr, 20*time.Second)

	m := &smtpmail.Mailer{Addr: smtpAddr, Sleep: noWait}
	send := func(id, domain string) {
		msg := msg(id)
		msg.Domain = domain
		if err := m.Send(context.Background(), msg); err != nil {
			t.Fatal(err)
		}
	}
	before := time.Now().Add(-time.Second)
	send("e1", "runA.stormsim")
	send("e2", "runA.stormsim")
	send("e2", "runA.stormsim") // a duplicate, as a broken mailer would send
	send("e1", "runB.stormsim") // another run's
	got, err := mailbox.Mailpit{URL: "http://" + httpAddr}.Read(context.Background(), "runA.stormsim")
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, r := range got {
		count[r.EventID]++
		if r.At.Before(before) || r.At.After(time.Now().Add(time.Second)) {
			t.Errorf("receive time %v not around now", r.At)
		}
		if r.MessageID != (scheduler.Message{EventID: r.EventID, Domain: "runA.stormsim"}).MessageID() {
			t.Errorf("Message-ID %s for event %s", r.MessageID, r.EventID)
		}
	}
	if len(got) != 3 || count["e1"] != 1 || count["e2"] != 2 {
		t.Fatalf("read back %d messages %v, want e1 once and e2 twice", len(got), count)
	}
}
