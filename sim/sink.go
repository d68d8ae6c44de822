package sim

import (
	"time"

	"github.com/stormsim/stormsim/sim/history"
	"github.com/stormsim/stormsim/sim/measure"
	"github.com/stormsim/stormsim/sim/traffic"
)

// sink is where the devices' records go: the history, the recorder, the
// saturation meter and the Prometheus collectors.
type sink struct{ r *runner }

var _ traffic.Sink = sink{}

func (s sink) Started(at time.Time, lag time.Duration) {
	s.r.sat.Launch.Add(lag)
	s.r.rec.Started(at)
	s.r.prom.UploadStarted()
}

func (s sink) Polled(p history.Poll, err error) {
	if err != nil {
		s.r.rec.ErrorCause("poll", measure.Cause(err))
	}
	_ = s.r.hist.Write(p)
}

func (s sink) TimerLate(d time.Duration) { s.r.sat.Timer.Add(d) }

func (s sink) Finished(u *history.Upload, decided time.Time, errKind string) {
	r := s.r
	if err := r.hist.Write(u); err != nil {
		r.rec.ErrorKind("history")
	}
	r.rec.Finished(u, decided, errKind)
	r.prom.ObserveUpload(string(u.Outcome), u.Done.Sub(u.Intended), u.Polls)
	r.prom.AddUploadBytes(u.Size)
}
