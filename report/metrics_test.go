package report

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/stormsim/stormsim/sim/metrics"
)

func TestWriteMetrics_Set_TextExposition(t *testing.T) {
	reg := prometheus.NewRegistry()
	s := metrics.New(reg)
	s.UploadStarted()
	s.ObserveUpload(metrics.Committed, 150*time.Millisecond, 1)
	s.ObserveLateness(42 * time.Second)

	var buf bytes.Buffer
	if err := WriteMetrics(&buf, reg); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		"# TYPE stormsim_upload_latency_seconds histogram",
		`stormsim_uploads_total{outcome="committed"} 1`,
		"# TYPE stormsim_scheduler_lateness_seconds histogram",
		"stormsim_scheduler_lateness_seconds_count 1",
		"# TYPE stormsim_inflight_uploads gauge",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("exposition lacks %q", want)
		}
	}
	// The file must read back as the same metrics.
	if err := testutil.GatherAndCompare(reg, strings.NewReader(out)); err != nil {
		t.Errorf("written exposition differs from the registry: %v", err)
	}
}

func TestWriteMetrics_GatherError(t *testing.T) {
	g := prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) { return nil, errors.New("broken") })
	if err := WriteMetrics(&bytes.Buffer{}, g); err == nil {
		t.Error("no error from a failing gatherer")
	}
}
