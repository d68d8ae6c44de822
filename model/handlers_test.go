package model

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stormsim/stormsim/scenarios"
)

func lambdaProfile(limit, scale int) *Profile {
	return &Profile{Name: "t", Handler: Handler{Kind: "lambda", AccountConcurrency: limit, ScalePer10s: scale,
		IdleExpiry: 300, ThrottleRetryMin: 1, ThrottleRetryMax: 300}, Redis: Redis{Shards: 1}}
}

// Lambda may add ScalePer10s environments at once, then refills at
// ScalePer10s per 10 s; beyond that, and beyond the concurrency limit,
// events are throttled; an idle environment is reused warm.
func TestPool_Admit_LambdaLimits(t *testing.T) {
	p := newPool(lambdaProfile(1500, 1000), 0, rand.New(rand.NewPCG(1, 1)))
	started := 0
	for i := range 1200 {
		if _, ok, _ := p.admit(0, int32(i), 0); ok {
			started++
		}
	}
	if started != 1000 || p.coldStarts != 1000 || p.throttles != 200 {
		t.Fatalf("at t=0: started %d, cold %d, throttled %d; want 1000, 1000, 200", started, p.coldStarts, p.throttles)
	}
	second := int64(time.Second)
	if _, ok, _ := p.admit(second, 0, 0); !ok || p.coldStarts != 1001 {
		t.Fatalf("1 s later one more environment (100/s refill): ok %v cold %d", ok, p.coldStarts)
	}
	p.release(second)
	if _, ok, _ := p.admit(second, 0, 0); !ok || p.coldStarts != 1001 {
		t.Fatalf("a released environment is reused warm: ok %v cold %d", ok, p.coldStarts)
	}
	// A minute later the scaling rate is back, but the limit holds.
	for i := range 1000 {
		p.admit(60*second, int32(i), 0)
	}
	if p.busy != 1500 || p.maxBusy != 1500 {
		t.Fatalf("busy %d max %d, want the limit 1500", p.busy, p.maxBusy)
	}
	_, ok, retry := p.admit(60*second, 0, 3)
	if ok || retry < 60*second+4*second || retry > 60*second+8*second {
		t.Fatalf("throttled the 4th time: ok %v, retry at %v, want 4-8 s later (1 s doubling, jittered)", ok, time.Duration(retry-60*second))
	}
}

func TestPool_Admit_QueueKindWaits(t *testing.T) {
	p := newPool(&Profile{Handler: Handler{Kind: "queue"}}, 2, rand.New(rand.NewPCG(1, 1)))
	for i := range 3 {
		p.admit(0, int32(i), 0)
	}
	if p.busy != 2 || p.waiting.len() != 1 {
		t.Fatalf("busy %d waiting %d", p.busy, p.waiting.len())
	}
	if next, ok := p.release(5); !ok || next != 2 || p.busy != 2 {
		t.Fatalf("release handed %d (%v), busy %d; want the waiting invocation 2", next, ok, p.busy)
	}
}

// A scenario's plan section overrides the profile: a slower S3 GET (20 ms,
// still far below what saturates 64 workers at 300/s) makes every
// decision slower by about the difference.
func TestRun_PlanOverrides_Ops(t *testing.T) {
	base := plan(t, builtin(t, "steady"), "embedded", 7)
	sc := builtin(t, "steady")
	sc.Plan = &scenarios.Plan{Ops: []scenarios.PlanOp{{Op: "s3.get", Dist: scenarios.Dist{Kind: "fixed", Value: 0.02}}}}
	slow := plan(t, sc, "embedded", 7)
	d0, d1 := base.Run.Measure.Phases[2].ValueAtQuantile(50), slow.Run.Measure.Phases[2].ValueAtQuantile(50)
	if d1-d0 < 15_000 || d1-d0 > 25_000 {
		t.Fatalf("decision p50 %d us -> %d us with s3.get at 20 ms", d0, d1)
	}
}
