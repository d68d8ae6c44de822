package workload

import (
	"math"
	"testing"
	"time"

	"github.com/stormsim/stormsim/scenarios"
)

// scenario parses src (which must be valid) with the defaults.
func scenario(t testing.TB, src string) *scenarios.Scenario {
	t.Helper()
	sc, err := scenarios.Parse(t.Name()+".yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

func collect(t testing.TB, p *Plan) []Arrival {
	t.Helper()
	var out []Arrival
	for a, ok := p.Next(); ok; a, ok = p.Next() {
		if n := len(out); n > 0 && a.At < out[n-1].At {
			t.Fatalf("arrival %d at %v before previous %v", a.Seq, a.At, out[n-1].At)
		}
		if a.Seq != int64(len(out)) {
			t.Fatalf("seq %d, want %d", a.Seq, len(out))
		}
		out = append(out, a)
	}
	return out
}

func TestPlan_Phases(t *testing.T) {
	tests := []struct {
		name      string
		src       string
		count     int64
		countTol  float64 // relative tolerance (0 = exact)
		first     time.Duration
		last      time.Duration // latest arrival at most
		window    time.Duration
		phaseOfAt map[time.Duration]string
	}{
		{name: "constant", src: "phases: [{kind: constant, rate: 100, duration: 2s}]",
			count: 200, first: 0, last: 1990 * time.Millisecond, window: 2 * time.Second},
		{name: "constant by count", src: "phases: [{kind: constant, rate: 10, count: 5}, {kind: burst, count: 2}]",
			count: 7, last: 500 * time.Millisecond, window: 500 * time.Millisecond,
			phaseOfAt: map[time.Duration]string{400 * time.Millisecond: "constant-0", 500 * time.Millisecond: "burst-1"}},
		{name: "ramp up", src: "phases: [{kind: ramp, from: 0, to: 200, duration: 10s}]",
			count: 1000, last: 10 * time.Second, window: 10 * time.Second},
		{name: "ramp down", src: "phases: [{kind: ramp, from: 300, to: 100, duration: 5s}]",
			count: 1000, last: 5 * time.Second, window: 5 * time.Second},
		{name: "burst", src: "phases: [{kind: burst, count: 5000, at: 250ms, duration: 1s}]",
			count: 5000, first: 250 * time.Millisecond, last: 250 * time.Millisecond, window: time.Second},
		{name: "poisson", src: "phases: [{kind: poisson, rate: 500, duration: 20s}]",
			count: 10000, countTol: 0.03, last: 20 * time.Second, window: 20 * time.Second},
		{name: "sequence", src: "phases:\n - {kind: burst, count: 10}\n - {kind: constant, rate: 10, duration: 1s}\n - {kind: ramp, from: 10, to: 30, duration: 1s}",
			count: 10 + 10 + 20, last: 2 * time.Second, window: 2 * time.Second,
			phaseOfAt: map[time.Duration]string{0: "burst-0", 100 * time.Millisecond: "constant-1", time.Second: "ramp-2"}},
		{name: "duration cap", src: "duration: 1500ms\nphases: [{kind: constant, rate: 10, duration: 1m}]",
			count: 15, last: 1400 * time.Millisecond, window: 1500 * time.Millisecond},
		{name: "uploads cap", src: "uploads: 25\nphases: [{kind: constant, rate: 10}]",
			count: 25, last: 2400 * time.Millisecond, window: 2500 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc := scenario(t, tt.src)
			p := NewPlan(sc, 1)
			as := collect(t, p)
			n := int64(len(as))
			if tt.countTol == 0 && n != tt.count || math.Abs(float64(n-tt.count)) > tt.countTol*float64(tt.count) {
				t.Fatalf("%d arrivals, want %d (tolerance %.0f%%)", n, tt.count, tt.countTol*100)
			}
			if c, ok := NewPlan(sc, 1).PlannedCount(); !ok || c != n {
				t.Errorf("PlannedCount() = %d, %v; want %d", c, ok, n)
			}
			if tt.countTol == 0 && as[0].At != tt.first {
				t.Errorf("first at %v, want %v", as[0].At, tt.first)
			}
			if l := as[n-1].At; l > tt.last {
				t.Errorf("last at %v, want <= %v", l, tt.last)
			}
			if w := p.PlannedWindow(); w != tt.window {
				t.Errorf("PlannedWindow() = %v, want %v", w, tt.window)
			}
			if r, want := p.PlannedRate(), float64(n)/tt.window.Seconds(); math.Abs(r-want) > 1e-9 {
				t.Errorf("PlannedRate() = %v, want %v", r, want)
			}
			for at, name := range tt.phaseOfAt {
				found := false
				for _, a := range as {
					if a.At == at { // the first arrival at that instant
						found = true
						if a.Phase != name {
							t.Errorf("arrival at %v in phase %q, want %q", at, a.Phase, name)
						}
						break
					}
				}
				if !found {
					t.Errorf("no arrival at %v", at)
				}
			}
		})
	}
}

// TestPlan_RampRate checks that the ramp's rate moves linearly: the
// arrivals in each second match the integral of the rate over it.
func TestPlan_RampRate(t *testing.T) {
	sc := scenario(t, "phases: [{kind: ramp, from: 100, to: 500, duration: 4s}]")
	perSecond := make([]int, 4)
	for _, a := range collect(t, NewPlan(sc, 1)) {
		perSecond[int(a.At/time.Second)]++
	}
	for s, got := range perSecond {
		want := 100 + 100*float64(2*s+1)/2*float64(500-100)/400 // mean rate in [s, s+1)
		if math.Abs(float64(got)-want) > 1 {
			t.Errorf("second %d: %d arrivals, want %.0f", s, got, want)
		}
	}
}

func TestPlan_PoissonGaps(t *testing.T) {
	sc := scenario(t, "phases: [{kind: poisson, rate: 200, count: 50000}]")
	as := collect(t, NewPlan(sc, 9))
	var gaps []float64
	for i := 1; i < len(as); i++ {
		gaps = append(gaps, (as[i].At - as[i-1].At).Seconds())
	}
	within(t, "mean gap", meanOf(gaps), 1.0/200, 0.02)
	within(t, "gap stddev", stddevOf(gaps), 1.0/200, 0.03) // exponential: sd = mean
}

func TestPlan_Population(t *testing.T) {
	sc := scenario(t, `
phases: [{kind: burst, count: 100000}]
population: {users: 50, devices_per_user: 4, files_per_user: 10, hot_files: 2, hot_share: 0.3, stale_share: 0.1, max_staleness: 3}
sizes: {kind: uniform, min: 0, max: 1000}
`)
	var hot, stale int
	seeds := map[uint64]bool{}
	for _, a := range collect(t, NewPlan(sc, 4)) {
		if a.User < 0 || a.User >= 50 || a.Device < 0 || a.Device >= 4 || a.File < 0 || a.File >= 10 {
			t.Fatalf("out of range: %+v", a)
		}
		if a.Hot != (a.File < 2) {
			t.Fatalf("hot flag wrong: %+v", a)
		}
		if a.Hot {
			hot++
		}
		if a.Stale < 0 || a.Stale > 3 {
			t.Fatalf("stale out of range: %+v", a)
		}
		if a.Stale > 0 {
			stale++
		}
		if a.Size < 0 || a.Size > 1000 {
			t.Fatalf("size out of range: %+v", a)
		}
		seeds[a.ContentSeed] = true
	}
	within(t, "hot share", float64(hot)/100000, 0.3, 0.03)
	within(t, "stale share", float64(stale)/100000, 0.1, 0.05)
	if len(seeds) < 99990 {
		t.Errorf("only %d distinct content seeds", len(seeds))
	}
}

func TestPlan_NextAllocatesNothing(t *testing.T) {
	// A 1,000,000-upload run must stream: Next holds O(1) memory.
	sc := scenario(t, "phases: [{kind: poisson, rate: 1000, count: 1000000}]\nsizes: {kind: mix, mix: [{weight: 1, kind: fixed, value: 1}, {weight: 1, kind: pareto, alpha: 1, scale: 1, cap: 9}]}")
	p := NewPlan(sc, 1)
	if allocs := testing.AllocsPerRun(10000, func() { p.Next() }); allocs != 0 {
		t.Errorf("Next allocates %v times per arrival", allocs)
	}
}

func TestPlan_ClosedModel(t *testing.T) {
	sc := scenario(t, `
model: closed
closed: {devices: 30, iterations: 4, think: {kind: exponential, mean: 500ms}}
population: {users: 10, devices_per_user: 3}
`)
	p := NewPlan(sc, 3)
	if _, ok := p.Next(); ok {
		t.Error("Next returned an arrival for a closed model")
	}
	// Interleave devices in one order, then another: each device's
	// sequence must not change.
	first := map[int64]Arrival{}
	for d := range 30 {
		for {
			a, ok := p.NextFor(d)
			if !ok {
				break
			}
			first[a.Seq] = a
		}
	}
	if len(first) != 120 {
		t.Fatalf("%d uploads, want 120", len(first))
	}
	q := NewPlan(sc, 3)
	for it := range 4 {
		for d := 29; d >= 0; d-- {
			a, ok := q.NextFor(d)
			if !ok || a != first[int64(it*30+d)] {
				t.Fatalf("device %d iteration %d: %+v, want %+v", d, it, a, first[int64(it*30+d)])
			}
			if u, dev := ClosedDevice(sc, d); a.User != u || a.Device != dev {
				t.Fatalf("device %d mapped to %d/%d, want %d/%d", d, a.User, a.Device, u, dev)
			}
		}
	}
	if c, ok := q.PlannedCount(); !ok || c != 120 {
		t.Errorf("PlannedCount() = %d, %v", c, ok)
	}
	if _, ok := q.NextFor(30); ok {
		t.Error("NextFor(out of range) ok")
	}
}
