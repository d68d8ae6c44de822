package sim

import (
	"context"
	"errors"
	"log"
	"time"

	"github.com/stormsim/stormsim/coordinator"
	"github.com/stormsim/stormsim/sim/metrics"
)

// stop closes what start brought up, in reverse dependency order: faults
// (Redis back up), push, the result API, the delivery, the external feed.
func (r *runner) stop() {
	if r.faults != nil {
		r.faults.Close() // restarts Redis after an outage
	}
	if r.push != nil {
		r.push.Close()
	}
	if r.api != nil {
		if err := r.api.Close(); err != nil {
			log.Printf("result API: %v", err)
		}
	}
	if r.delivery != nil {
		r.delivery.Close()
	}
	if r.feed != nil {
		r.feed.Close()
	}
	if r.opt.Env == nil && r.env != nil {
		r.env.Close()
	}
}

// beginDrain lifts the faults when the drain begins (Delivery.SetDrain):
// it runs in the run's goroutine, after the recorder exists.
func (r *runner) beginDrain() {
	r.rec.SetFaults(r.faults.Lift(r.rec.Start()))
}

// drainSweep is the reconciler's sweep at the drain: every staged object,
// whatever its age.
func (r *runner) drainSweep(ctx context.Context) (int, error) {
	n, err := r.faults.Reconcile(ctx, 0)
	r.rec.SetReconciled(r.faults.Reconciled())
	return n, err
}

// handlerResult counts one handler invocation by how it ended.
func (r *runner) handlerResult(err error, willRetry bool, took time.Duration) {
	r.handlerNanos.Add(int64(took))
	switch {
	case err == nil:
		r.emit.Handled(metrics.HandlerOK)
	case errors.Is(err, coordinator.ErrCrash):
		r.emit.Handled(metrics.HandlerCrash)
	case willRetry:
		r.emit.Handled(metrics.HandlerRetry)
	default:
		r.emit.Handled(metrics.HandlerError)
	}
}
