package metrics

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestSet_ObserveUpload_Counts(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	s := New(reg)
	s.UploadStarted()
	s.UploadStarted()
	s.UploadStarted()
	s.ObserveUpload(Committed, 120*time.Millisecond, 1)
	s.ObserveUpload(Conflict, 2*time.Second, 0)
	s.AddUploadBytes(4096)

	if got := testutil.ToFloat64(s.Uploads.WithLabelValues(Committed)); got != 1 {
		t.Errorf("committed = %v, want 1", got)
	}
	if got := testutil.ToFloat64(s.InFlight); got != 1 {
		t.Errorf("in flight = %v, want 1", got)
	}
	if got := testutil.ToFloat64(s.UploadBytes); got != 4096 {
		t.Errorf("bytes = %v, want 4096", got)
	}
	want := `
# HELP stormsim_polls_per_upload Result queries a device made before it knew its upload's outcome (0: the push came first).
# TYPE stormsim_polls_per_upload histogram
stormsim_polls_per_upload_bucket{le="0"} 1
stormsim_polls_per_upload_bucket{le="1"} 2
stormsim_polls_per_upload_bucket{le="2"} 2
stormsim_polls_per_upload_bucket{le="3"} 2
stormsim_polls_per_upload_bucket{le="4"} 2
stormsim_polls_per_upload_bucket{le="5"} 2
stormsim_polls_per_upload_bucket{le="8"} 2
stormsim_polls_per_upload_bucket{le="13"} 2
stormsim_polls_per_upload_bucket{le="21"} 2
stormsim_polls_per_upload_bucket{le="+Inf"} 2
stormsim_polls_per_upload_sum 1
stormsim_polls_per_upload_count 2
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "stormsim_polls_per_upload"); err != nil {
		t.Error(err)
	}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP stormsim_upload_latency_seconds Upload latency from the planned instant to the moment the device knew the outcome.
# TYPE stormsim_upload_latency_seconds histogram
`+latencyLines("committed", 0.12, 1)+latencyLines("conflict", 2, 1)+
		latencyLines("error", 0, 0)+latencyLines("rejected", 0, 0)+latencyLines("unknown", 0, 0)),
		"stormsim_upload_latency_seconds"); err != nil {
		t.Error(err)
	}
}

// latencyLines writes the exposition of one latency series holding n
// observations of v (n is 0 or 1).
func latencyLines(outcome string, v float64, n int) string {
	var b strings.Builder
	for _, le := range LatencyBuckets {
		c := 0
		if n > 0 && v <= le {
			c = n
		}
		b.WriteString("stormsim_upload_latency_seconds_bucket{outcome=\"" + outcome + "\",le=\"" +
			ftoa(le) + "\"} " + itoa(c) + "\n")
	}
	b.WriteString("stormsim_upload_latency_seconds_bucket{outcome=\"" + outcome + "\",le=\"+Inf\"} " + itoa(n) + "\n")
	b.WriteString("stormsim_upload_latency_seconds_sum{outcome=\"" + outcome + "\"} " + ftoa(v) + "\n")
	b.WriteString("stormsim_upload_latency_seconds_count{outcome=\"" + outcome + "\"} " + itoa(n) + "\n")
	return b.String()
}

func TestSet_Labels_ClosedSets(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	s := New(reg)
	// An upload id passed by mistake must not become a label value.
	s.UploadStarted()
	s.ObserveUpload("u-000123", time.Second, 2)
	s.S3Request("u-000123")
	s.S3Request(OpPut)
	s.HandlerInvoked("panic: u-000123")
	s.HandlerInvoked(HandlerDuplicate)

	tests := []struct {
		name string
		c    prometheus.Collector
		want float64
	}{
		{"uploads other", s.Uploads.WithLabelValues("other"), 1},
		{"s3 other", s.S3Requests.WithLabelValues("other"), 1},
		{"s3 put", s.S3Requests.WithLabelValues(OpPut), 1},
		{"handler other", s.HandlerInvocations.WithLabelValues("other"), 1},
		{"handler duplicate", s.HandlerInvocations.WithLabelValues(HandlerDuplicate), 1},
	}
	for _, tt := range tests {
		if got := testutil.ToFloat64(tt.c); got != tt.want {
			t.Errorf("%s = %v, want %v", tt.name, got, tt.want)
		}
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range families {
		if !strings.HasPrefix(mf.GetName(), "stormsim_") {
			t.Errorf("metric %s lacks the stormsim_ prefix", mf.GetName())
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if strings.Contains(l.GetValue(), "u-") {
					t.Errorf("%s has an upload id as a label: %s=%s", mf.GetName(), l.GetName(), l.GetValue())
				}
			}
		}
	}
}

func TestSet_Lint_Clean(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	s := New(reg)
	s.ObserveLateness(31 * time.Second)
	s.Conflict()
	s.RedisCall(3)
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint %s: %s", p.Metric, p.Text)
	}
	if n := testutil.CollectAndCount(s.SchedulerLateness); n != 1 {
		t.Errorf("lateness series = %d, want 1", n)
	}
	if got := testutil.ToFloat64(s.RedisCalls); got != 3 {
		t.Errorf("redis calls = %v, want 3", got)
	}
}

func TestSet_Nil_NoOp(t *testing.T) {
	var s *Set
	s.UploadStarted()
	s.ObserveUpload(Committed, time.Second, 1)
	s.AddUploadBytes(1)
	s.HandlerInvoked(HandlerOK)
	s.Conflict()
	s.ObserveLateness(time.Second)
	s.S3Request(OpPut)
	s.RedisCall(1)
}

func TestSet_Concurrent_Race(t *testing.T) {
	s := New(prometheus.NewRegistry())
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 100; j++ {
				s.UploadStarted()
				s.ObserveUpload(Committed, time.Millisecond, j%3)
				s.S3Request(OpCopy)
			}
		}()
	}
	wg.Wait()
	if got := testutil.ToFloat64(s.Uploads.WithLabelValues(Committed)); got != 800 {
		t.Errorf("committed = %v, want 800", got)
	}
	if got := testutil.ToFloat64(s.InFlight); got != 0 {
		t.Errorf("in flight = %v, want 0", got)
	}
}
