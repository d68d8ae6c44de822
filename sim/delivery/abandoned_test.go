package delivery

import (
	"context"
	"errors"
	"maps"
	"math/rand/v2"
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
		cfg  Config
		// emit emits the events and returns once they are where the test
		// wants them (waiting on events, never sleeping).
		emit func(t *testing.T, d *Delivery, ended <-chan string, started <-chan struct{})
		want map[string]string
	}{
		{name: "running and queued", cfg: Config{Workers: 1},
			emit: func(t *testing.T, d *Delivery, _ <-chan string, started <-chan struct{}) {
				d.Emit("b", "run", 1, time.Now())
				<-started // the only worker is busy: the next two wait in the queue
				d.Emit("b", "q1", 1, time.Now())
				d.Emit("b", "q2", 1, time.Now())
			},
			want: map[string]string{"run": history.PendingRunning, "q1": history.PendingQueued, "q2": history.PendingQueued}},
		{name: "delayed event is queued", cfg: Config{Workers: 1,
			Delay: func(*rand.Rand) time.Duration { return time.Hour }},
			emit: func(t *testing.T, d *Delivery, _ <-chan string, _ <-chan struct{}) {
				d.Emit("b", "late", 1, time.Now())
			},
			want: map[string]string{"late": history.PendingQueued}},
		{name: "failed event waits for its retry", cfg: Config{Workers: 1, Retries: 2, RetryDelay: time.Hour},
			emit: func(t *testing.T, d *Delivery, ended <-chan string, _ <-chan struct{}) {
				d.Emit("b", "fail", 1, time.Now())
				<-ended
			},
			want: map[string]string{"fail": history.PendingRetrying}},
		{name: "retries exhausted is dead", cfg: Config{Workers: 1},
			emit: func(t *testing.T, d *Delivery, _ <-chan string, _ <-chan struct{}) {
				d.Emit("b", "fail", 1, time.Now())
				if err := d.Wait(context.Background()); err != nil {
					t.Fatal(err)
				}
			},
			want: map[string]string{"fail": history.PendingDead}},
		{name: "stop lets the running handler finish", cfg: Config{Workers: 1},
			emit: func(t *testing.T, d *Delivery, _ <-chan string, started <-chan struct{}) {
				d.Emit("b", "finish", 1, time.Now())
				<-started
				d.Emit("b", "q1", 1, time.Now())
				d.Stop(time.Hour) // "finish" returns once it sees the stop
			},
			want: map[string]string{"q1": history.PendingQueued}},
		{name: "handled event is not abandoned", cfg: Config{Workers: 1},
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
			d = New(cfg, func(ctx context.Context, ev events.S3Event) error {
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
