package model

import (
	"testing"
	"time"

	"github.com/stormsim/stormsim/sim/traffic"
	"github.com/stormsim/stormsim/sim/workload"
)

// With first_delay auto the model's devices choose their polls with the
// harness's own estimator: fed the same decisions and pending answers,
// a traffic.Estimator gives the same waits. A model that restated the
// rule would fail here once sim/traffic's changed.
func TestDevices_Learn_HarnessEstimator(t *testing.T) {
	sc := builtin(t, "ci")
	sc.Wait.Poll.FirstDelay = "auto"
	sc.Wait.Push = false
	sc.Wait.Poll.Timeout, sc.Wait.Poll.MaxPolls = time.Hour, 0 // the schedule alone: no giving up
	p, err := LoadProfile("embedded")
	if err != nil {
		t.Fatal(err)
	}
	p.Device.Poll.Kind = "" // polls answered at once: the schedule alone
	d := newDevices(sc, p, workload.NewStreams(1), func() int64 { return 0 })
	ref := traffic.NewEstimator()
	// short decisions, then a backlog long enough that a pending answer
	// stretches the wait beyond the back-off (the estimate above ~2.6 s)
	steps := []time.Duration{30 * time.Millisecond, 2 * time.Second, 400 * time.Millisecond}
	for range 40 {
		steps = append(steps, 5*time.Second)
	}
	stretched := false
	for i, decision := range steps {
		d.observe(0, int64(decision))
		ref.Observe(decision)
		const size = 1 << 20
		first := d.firstPoll(size)
		if want := ref.FirstPoll(size); first != int64(want) {
			t.Fatalf("step %d: first poll after %s, the harness's estimator says %s", i, time.Duration(first), want)
		}
		// a decision long after the first poll: every pending answer
		// moves both estimators alike, and the model's waits are the
		// harness's
		visible := first + int64(3*time.Second)
		l := d.learn(0, first, visible, 0)
		at, iv, polls := first, sc.Wait.Poll.Interval, 0
		for at < visible {
			polls++
			age := time.Duration(at)
			ref.Pending(age)
			wait := min(ref.NextPoll(age, iv), sc.Wait.Poll.MaxInterval)
			stretched = stretched || wait > iv
			at += int64(wait)
			iv = min(time.Duration(float64(iv)*sc.Wait.Poll.Backoff), sc.Wait.Poll.MaxInterval)
		}
		if l.polls != polls+1 || l.at != at {
			t.Fatalf("step %d: %d polls, learned at %s; the harness's estimator: %d polls, at %s", i, l.polls, time.Duration(l.at), polls+1, time.Duration(at))
		}
	}
	if !stretched {
		t.Fatal("no pending answer stretched a wait: the test does not exercise NextPoll")
	}
}
