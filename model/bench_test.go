package model

import (
	"context"
	"testing"
	"time"
)

// BenchmarkRun_PlanInternet plans scenarios/plan-internet.yaml (13M
// uploads): run it with -benchtime=1x -benchmem, and -cpuprofile to see
// where the event loop spends its time. Allocation counts are the figure
// to compare across machines; time only on an idle one.
func BenchmarkRun_PlanInternet(b *testing.B) {
	benchPlan(b, 1)
}

// BenchmarkRun_PlanInternetTenth is the same plan scaled to a tenth (30 s
// at 20,000/s either side of a 100,000-upload burst): the same queue and
// pool dynamics in a few seconds.
func BenchmarkRun_PlanInternetTenth(b *testing.B) {
	benchPlan(b, 10)
}

func benchPlan(b *testing.B, div int) {
	sc := builtin(b, "plan-internet")
	for i := range sc.Phases {
		p := &sc.Phases[i]
		p.Duration /= time.Duration(div)
		p.Count /= int64(div)
	}
	p, err := LoadProfile("aws-us-east-1")
	if err != nil {
		b.Fatal(err)
	}
	calls := recorded(b)
	b.ReportAllocs()
	var events int64
	for b.Loop() {
		res, err := Run(context.Background(), Options{Scenario: sc, Seed: sc.Seed, Profile: p, Calls: calls, Started: time.Unix(0, 0)})
		if err != nil {
			b.Fatal(err)
		}
		events = res.Info.Events
	}
	b.ReportMetric(float64(events), "events/op")
}
