package env

import (
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stormsim/stormsim/coordinator"
	"github.com/stormsim/stormsim/internal/syncx"
)

// Webhook receives a storage server's S3 event notifications over HTTP
// (the JSON document AWS publishes, {"Records": [...]}, which versitygw's
// --event-webhook-url posts one record at a time) and hands each
// ObjectCreated record for a staging key of the watched bucket and prefix
// to the emitter the run registers. On this path the events come from the
// storage server, not from the harness's wrapper.
type Webhook struct {
	// URL is what the storage server must post to.
	URL string

	bucket, prefix string
	srv            *syncx.Server

	mu   sync.Mutex // guards emit
	emit func(key string, size int64)

	stats WebhookStats
}

// WebhookStats count what the webhook saw.
type WebhookStats struct {
	Requests, Records, Emitted atomic.Int64
	// Ignored: records of another bucket or prefix, other event kinds, or
	// ones that came before a run registered.
	Ignored atomic.Int64
	// Bad: bodies that were not an event document.
	Bad atomic.Int64
}

// NewWebhook listens on addr ("" = 127.0.0.1:0, ":PORT" = loopback) and
// serves POST /events. Records whose bucket is not bucket, or whose key
// does not start with stagingPrefix, are ignored.
func NewWebhook(addr, bucket, stagingPrefix string) (*Webhook, error) {
	ln, err := coordinator.Listen(addr)
	if err != nil {
		return nil, fmt.Errorf("listen for the S3 event webhook: %w", err)
	}
	w := &Webhook{URL: "http://" + ln.Addr().String() + "/events", bucket: bucket, prefix: stagingPrefix}
	mux := http.NewServeMux()
	mux.Handle("POST /events", w)
	w.srv = syncx.Serve(coordinator.NewServer(http.MaxBytesHandler(mux, 4<<20)), ln)
	return w, nil
}

// Addr is the listen address (host:port).
func (w *Webhook) Addr() string {
	u, _ := url.Parse(w.URL)
	return u.Host
}

// SetEmit registers the run's emitter (Env.OnStaged's argument); nil
// stops passing events on.
func (w *Webhook) SetEmit(emit func(key string, size int64)) {
	w.mu.Lock()
	w.emit = emit
	w.mu.Unlock()
}

// Stats returns the counters.
func (w *Webhook) Stats() *WebhookStats { return &w.stats }

// Close stops the listener and waits for the server; it is idempotent.
func (w *Webhook) Close() {
	if err := w.srv.Close(); err != nil {
		log.Printf("webhook: %v", err)
	}
}

// eventDoc is the part of an S3 event notification the harness reads. It
// is decoded loosely (no time fields): servers differ in the rest.
type eventDoc struct {
	Records []struct {
		EventName string `json:"eventName"`
		S3        struct {
			Bucket struct {
				Name string `json:"name"`
			} `json:"bucket"`
			Object struct {
				Key  string `json:"key"`
				Size int64  `json:"size"`
			} `json:"object"`
		} `json:"s3"`
	} `json:"Records"`
	Event string `json:"Event"` // "s3:TestEvent"
}

// ServeHTTP answers at once (the sender has a short timeout and does not
// retry) after handing the records on.
func (w *Webhook) ServeHTTP(rw http.ResponseWriter, req *http.Request) {
	w.stats.Requests.Add(1)
	body, err := io.ReadAll(req.Body)
	if err != nil {
		w.stats.Bad.Add(1)
		http.Error(rw, "read body", http.StatusBadRequest)
		return
	}
	var doc eventDoc
	if err := json.Unmarshal(body, &doc); err != nil {
		w.stats.Bad.Add(1)
		http.Error(rw, "not an S3 event document", http.StatusBadRequest)
		return
	}
	w.mu.Lock()
	emit := w.emit
	w.mu.Unlock()
	for _, r := range doc.Records {
		w.stats.Records.Add(1)
		key, ok := w.accept(r.EventName, r.S3.Bucket.Name, r.S3.Object.Key)
		if !ok || emit == nil {
			w.stats.Ignored.Add(1)
			continue
		}
		w.stats.Emitted.Add(1)
		emit(key, r.S3.Object.Size)
	}
	rw.WriteHeader(http.StatusNoContent)
}

// accept decodes the key (notifications carry it URL-encoded) and keeps
// ObjectCreated records for the watched bucket and prefix.
func (w *Webhook) accept(event, bucket, rawKey string) (string, bool) {
	name := strings.TrimPrefix(event, "s3:")
	if !strings.HasPrefix(name, "ObjectCreated:") {
		return "", false
	}
	if bucket != w.bucket {
		return "", false
	}
	key, err := url.QueryUnescape(rawKey)
	if err != nil {
		key = rawKey
	}
	if !strings.HasPrefix(key, w.prefix) {
		return "", false
	}
	return key, true
}

// WaitListening blocks until addr accepts TCP connections or d passes; it
// lets scripts start a storage server only once the webhook is up.
func WaitListening(addr string, d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			return c.Close()
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}
