package sim

import (
	"context"
	"errors"
	"maps"
	"math"
	"math/rand/v2"
	"runtime/metrics"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/stormsim/stormsim/sim/history"
)

// TestDelivery_Abandoned_Reasons: after Close, every event left unfinished
// is reported with where it was, so a pending upload says why.
func TestDelivery_Abandoned_Reasons(t *testing.T) {
	failing := errors.New("handler failed")
	tests := []struct {
		name string
		cfg  DeliveryConfig
		// emit emits the events and returns once they are where the test
		// wants them (waiting on events, never sleeping).
		emit func(t *testing.T, d *Delivery, ended <-chan string, started <-chan struct{})
		want map[string]string
	}{
		{name: "running and queued", cfg: DeliveryConfig{Workers: 1},
			emit: func(t *testing.T, d *Delivery, _ <-chan string, started <-chan struct{}) {
				d.Emit("b", "run", 1, time.Now())
				<-started // the only worker is busy: the next two wait in the queue
				d.Emit("b", "q1", 1, time.Now())
				d.Emit("b", "q2", 1, time.Now())
			},
			want: map[string]string{"run": history.PendingRunning, "q1": history.PendingQueued, "q2": history.PendingQueued}},
		{name: "delayed event is queued", cfg: DeliveryConfig{Workers: 1,
			Delay: func(*rand.Rand) time.Duration { return time.Hour }},
			emit: func(t *testing.T, d *Delivery, _ <-chan string, _ <-chan struct{}) {
				d.Emit("b", "late", 1, time.Now())
			},
			want: map[string]string{"late": history.PendingQueued}},
		{name: "failed event waits for its retry", cfg: DeliveryConfig{Workers: 1, Retries: 2, RetryDelay: time.Hour},
			emit: func(t *testing.T, d *Delivery, ended <-chan string, _ <-chan struct{}) {
				d.Emit("b", "fail", 1, time.Now())
				<-ended
			},
			want: map[string]string{"fail": history.PendingRetrying}},
		{name: "retries exhausted is dead", cfg: DeliveryConfig{Workers: 1},
			emit: func(t *testing.T, d *Delivery, _ <-chan string, _ <-chan struct{}) {
				d.Emit("b", "fail", 1, time.Now())
				if err := d.Wait(context.Background()); err != nil {
					t.Fatal(err)
				}
			},
			want: map[string]string{"fail": history.PendingDead}},
		{name: "stop lets the running handler finish", cfg: DeliveryConfig{Workers: 1},
			emit: func(t *testing.T, d *Delivery, _ <-chan string, started <-chan struct{}) {
				d.Emit("b", "finish", 1, time.Now())
				<-started
				d.Emit("b", "q1", 1, time.Now())
				d.Stop(time.Hour) // "finish" returns once it sees the stop
			},
			want: map[string]string{"q1": history.PendingQueued}},
		{name: "handled event is not abandoned", cfg: DeliveryConfig{Workers: 1},
			emit: func(t *testing.T, d *Delivery, _ <-chan string, _ <-chan struct{}) {
				d.Emit("b", "ok", 1, time.Now())
				if err := d.Wait(context.Background()); err != nil {
					t.Fatal(err)
				}
			},
			want: map[string]string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			started := make(chan struct{})
			ended := make(chan string, 8)
			cfg := tt.cfg // Retries 0: the first failure is dead
			cfg.OnResult = func(err error, _ bool, _ time.Duration) {
				if err != nil {
					ended <- err.Error()
				}
			}
			var d *Delivery
			d = NewDelivery(cfg, func(ctx context.Context, ev events.S3Event) error {
				switch ev.Records[0].S3.Object.Key {
				case "run":
					close(started)
					<-ctx.Done()
					return ctx.Err()
				case "finish":
					close(started)
					<-d.quit
					return nil
				case "fail":
					return failing
				}
				return nil
			})
			tt.emit(t, d, ended, started)
			d.Close()
			if got := d.Abandoned(); !maps.Equal(got, tt.want) {
				t.Errorf("abandoned %v, want %v", got, tt.want)
			}
		})
	}
}

// TestSchedQuantiles_Diff: the scheduler latency figures count only what
// happened since the start, at bucket upper bounds.
func TestSchedQuantiles_Diff(t *testing.T) {
	h := &metrics.Float64Histogram{Buckets: []float64{0, 0.001, 0.01, 0.1, math.Inf(1)}, Counts: []uint64{100, 0, 0, 5}}
	before := []uint64{100, 0, 0, 0}
	tests := []struct {
		name   string
		h      *metrics.Float64Histogram
		before []uint64
		want   Quantiles
	}{
		{"only the run's samples", &metrics.Float64Histogram{Buckets: h.Buckets, Counts: []uint64{190, 8, 2, 0}}, before,
			Quantiles{Count: 100, P50: 0.001, P99: 0.1, Max: 0.1}},
		{"last bucket is open: its lower bound", h, before, Quantiles{Count: 5, P50: 0.1, P99: 0.1, Max: 0.1}},
		{"nothing since the start", h, h.Counts, Quantiles{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := schedQuantiles(tt.h, tt.before); got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestSaturationMeter_End_Figures: launch lag and timer lateness make the
// harness lag together; the other waits are kept apart.
func TestSaturationMeter_End_Figures(t *testing.T) {
	m := newSaturationMeter()
	start := time.Now()
	m.begin(start)
	for i := range 100 {
		m.launch.add(time.Duration(i) * time.Millisecond)
		m.timer.add(time.Second)
		m.queue.add(3 * time.Second)
	}
	s := m.end(start.Add(time.Second), true)
	if s.LaunchLag.Count != 100 || s.TimerLateness.Count != 100 || s.Lag.Count != 200 {
		t.Fatalf("counts %+v", s)
	}
	if s.LaunchLag.Max < 0.098 || s.LaunchLag.Max > 0.1 || s.Lag.P99 < 0.99 || s.Lag.P99 > 1.01 {
		t.Errorf("launch lag %+v, lag %+v", s.LaunchLag, s.Lag)
	}
	if s.EventQueueWait.P50 < 2.99 || s.RedisWait.Count != 0 || !s.Embedded || s.CPUs < 1 {
		t.Errorf("figures %+v", s)
	}
}
