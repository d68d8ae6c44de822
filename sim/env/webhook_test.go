package env_test

import (
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stormsim/stormsim/sim/env"
)

func TestWebhook_ServeHTTP(t *testing.T) {
	versitygwPut, err := os.ReadFile("testdata/versitygw-put.json") // recorded from versitygw v1.8.0
	if err != nil {
		t.Fatal(err)
	}
	record := func(event, bucket, key string) string {
		return `{"Records":[{"eventName":"` + event + `","eventTime":"","s3":{"bucket":{"name":"` + bucket +
			`"},"object":{"key":"` + key + `","size":7}}}]}`
	}
	tests := []struct {
		name, body string
		status     int
		emitted    []string
	}{
		{"versitygw put", string(versitygwPut), http.StatusNoContent, []string{"run1/staging/u1/abc"}},
		{"versitygw test event", `{"Bucket":"Test-Bucket","Event":"s3:TestEvent","Service":"S3","Time":"2026-11-26T01:22:07Z"}`, http.StatusNoContent, nil},
		{"AWS event name without s3:", record("ObjectCreated:Put", "bkt", "run1/staging/u2/x"), http.StatusNoContent, []string{"run1/staging/u2/x"}},
		{"multipart", record("s3:ObjectCreated:CompleteMultipartUpload", "bkt", "run1/staging/u2/y"), http.StatusNoContent, []string{"run1/staging/u2/y"}},
		{"url-encoded key", record("s3:ObjectCreated:Put", "bkt", "run1%2Fstaging%2Fu3%2Fz"), http.StatusNoContent, []string{"run1/staging/u3/z"}},
		{"copy to final", record("s3:ObjectCreated:Copy", "bkt", "run1/files/u1/a.txt"), http.StatusNoContent, nil},
		{"delete", record("s3:ObjectRemoved:Delete", "bkt", "run1/staging/u1/abc"), http.StatusNoContent, nil},
		{"other bucket", record("s3:ObjectCreated:Put", "other", "run1/staging/u1/abc"), http.StatusNoContent, nil},
		{"other run", record("s3:ObjectCreated:Put", "bkt", "run2/staging/u1/abc"), http.StatusNoContent, nil},
		{"not JSON", `<xml/>`, http.StatusBadRequest, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w, err := env.NewWebhook("", "bkt", "run1/staging/")
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			var mu sync.Mutex
			var got []string
			w.SetEmit(func(key string, size int64) {
				mu.Lock()
				got = append(got, key)
				mu.Unlock()
			})
			resp, err := http.Post(w.URL, "application/json; charset=utf-8", strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.status)
			}
			mu.Lock()
			defer mu.Unlock()
			if !slices.Equal(got, tc.emitted) {
				t.Errorf("emitted %q, want %q", got, tc.emitted)
			}
		})
	}
}

func TestWebhook_BeforeARunRegisters_Ignored(t *testing.T) {
	w, err := env.NewWebhook("", "bkt", "staging/")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	resp, err := http.Post(w.URL, "application/json", strings.NewReader(`{"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"bkt"},"object":{"key":"staging/u/i"}}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if st := w.Stats(); st.Ignored.Load() != 1 || st.Emitted.Load() != 0 {
		t.Errorf("ignored %d emitted %d", st.Ignored.Load(), st.Emitted.Load())
	}
	if resp, err := http.Get(w.URL); err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("GET answered %d", resp.StatusCode)
		}
	}
}
