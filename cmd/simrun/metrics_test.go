package main

import (
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/stormsim/stormsim/sim/metrics"
)

func TestServeMetrics_LoopbackAndExposition(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := metrics.New(reg)
	m.UploadStarted()
	stderr := os.Stderr
	r, w, _ := os.Pipe()
	os.Stderr = w
	stop, err := serveMetrics("", reg)
	os.Stderr = stderr
	w.Close()
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	line, _ := io.ReadAll(r)
	url := strings.TrimSpace(strings.TrimPrefix(string(line), "metrics: "))
	if !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Fatalf("metrics served at %q, want loopback", url)
	}
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(string(body), "stormsim_inflight_uploads 1") {
		t.Fatalf("GET /metrics: %d\n%s", resp.StatusCode, body)
	}
}
