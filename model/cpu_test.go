package model

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stormsim/stormsim/scenarios"
	"github.com/stormsim/stormsim/sim/workload"
)

func TestCPUServer_Book_Cases(t *testing.T) {
	ms := int64(time.Millisecond)
	type booking struct{ at, cpu, wantWait int64 }
	tests := []struct {
		name  string
		cores int
		books []booking
	}{
		{"two cores take two calls at once, the third waits", 2, []booking{{0, ms, 0}, {0, ms, 0}, {0, ms, ms}}},
		{"a free core is taken at once", 1, []booking{{0, ms, 0}, {5 * ms, ms, 0}}},
		{"calls queue in booking order", 1, []booking{{0, 3 * ms, 0}, {ms, ms, 2 * ms}, {ms, ms, 3 * ms}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCPUServer(&Profile{CPU: CPU{Cores: tt.cores, BusyShare: 1}}, workload.NewStreams(1))
			for i, b := range tt.books {
				if got := c.book(b.at, b.cpu); got != b.wantWait {
					t.Fatalf("booking %d at %d of %d: wait %d, want %d", i, b.at, b.cpu, got, b.wantWait)
				}
			}
		})
	}
}

// A call's CPU time is the busy share of its calibrated mean latency,
// whatever latency a scenario's plan section gives it.
func TestProfile_CallCPU_FromCalibrated(t *testing.T) {
	p := &Profile{Name: "x", Handler: Handler{Kind: "queue"}, Redis: Redis{Shards: 1}, CPU: CPU{Cores: 2, BusyShare: 0.5},
		Ops: []Op{{Op: "s3.get", Dist: scenarios.Dist{Kind: "uniform", Min: 0.001, Max: 0.003}}}}
	q, err := p.withOverrides(&scenarios.Plan{Ops: []scenarios.PlanOp{{Op: "s3.get", Dist: scenarios.Dist{Kind: "fixed", Value: 0.02}}}})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := q.callCPU("s3.get"), int64(time.Millisecond); got != want {
		t.Fatalf("cpu of an overridden s3.get %d ns, want %d (half its calibrated 2 ms mean)", got, want)
	}
	if c := newCPUServer(p, workload.NewStreams(1)); c.cost(int64(4*time.Millisecond)) != int64(2*time.Millisecond) {
		t.Fatalf("cost of 4 ms at share 0.5: %d", c.cost(int64(4*time.Millisecond)))
	}
	p.CPU = CPU{}
	if p.callCPU("s3.get") != 0 {
		t.Fatal("a profile without a cpu section gives calls CPU time")
	}
}

// A profile without a cpu section books nothing: a nil server.
func TestCPUServer_Book_NoCPU(t *testing.T) {
	c := newCPUServer(&Profile{}, workload.NewStreams(1))
	if c != nil || c.book(0, int64(time.Second)) != 0 || c.late() != 0 || c.note(&Profile{}, 1, 1) != "" {
		t.Fatalf("no cpu section: server %v books or waits", c)
	}
}

// The burst of ci.yaml (300 uploads at one instant) on fewer cores
// stretches: the same calls, queued for fewer cores, decide later.
func TestRun_CPU_FewerCoresStretchBurst(t *testing.T) {
	burstMean := func(cores int) time.Duration {
		p, err := LoadProfile("embedded")
		if err != nil {
			t.Fatal(err)
		}
		if p.CPU.Cores == 0 {
			t.Fatal("profiles/embedded.yaml has no cpu section")
		}
		p.CPU.Cores = cores
		res := planWith(t, builtin(t, "ci"), p, 42)
		if !hasNote(res, "cpu: the setup's own CPU contention is modelled") {
			t.Fatalf("no cpu note in %q", res.Info.Notes)
		}
		return res.Run.Measure.Series[1].Latency.Mean() // the burst's second
	}
	one, two, many := burstMean(1), burstMean(2), burstMean(256)
	if !(one > two && two > many) {
		t.Fatalf("burst latency mean on 1, 2 and 256 cores: %v, %v, %v; want it to fall with more cores", one, two, many)
	}
}

// A deployed system's profile (no cpu section) plans as before: no
// contention, and no cpu note on the Lambda kind.
func TestRun_CPU_AWSProfileUntouched(t *testing.T) {
	res := plan(t, builtin(t, "ci"), "aws-us-east-1", 42)
	for _, n := range res.Info.Notes {
		if strings.HasPrefix(n, "cpu:") {
			t.Fatalf("aws profile plan has a cpu note: %q", n)
		}
	}
}

func TestParseProfile_CPU_NamesField(t *testing.T) {
	for _, tt := range []struct{ yaml, field string }{
		{"cpu: {cores: -1, busy_share: 1}", "cpu.cores"},
		{"cpu: {cores: 2}", "cpu.busy_share"},
		{"cpu: {cores: 2, busy_share: 1, wake: {kind: uniform, min: 2, max: 1}}", "cpu.wake"},
	} {
		_, err := ParseProfile("bad.yaml", []byte("name: x\nhandler: {kind: queue}\nredis: {shards: 1}\n"+tt.yaml+"\n"))
		if err == nil || !strings.Contains(err.Error(), tt.field) {
			t.Errorf("%s: err = %v, want %s named", tt.yaml, err, tt.field)
		}
	}
}

func hasNote(res *Result, prefix string) bool {
	for _, n := range res.Info.Notes {
		if strings.HasPrefix(n, prefix) {
			return true
		}
	}
	return false
}

// Calibrate on the embedded fakes fills the cpu section and the push
// path, and the profile reads back as written.
func TestCalibrate_Embedded_CPUAndPush(t *testing.T) {
	b, err := NewEmbedded()
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	p, err := Calibrate(context.Background(), b, 10, time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	if p.CPU.Cores != runtime.GOMAXPROCS(0) || !(p.CPU.BusyShare > 0) || p.CPU.Wake.Kind != "mix" || p.Device.Push.Kind != "mix" {
		t.Fatalf("cpu %+v, push %+v", p.CPU, p.Device.Push)
	}
	if !strings.Contains(p.Source, "CPU per upload with 32 clients at once") {
		t.Fatalf("source %q does not give the CPU per upload", p.Source)
	}
	var buf strings.Builder
	if err := p.WriteYAML(&buf); err != nil {
		t.Fatal(err)
	}
	q, err := ParseProfile("calibrated.yaml", []byte(buf.String()))
	if err != nil {
		t.Fatalf("%v\n%s", err, buf.String())
	}
	if q.CPU.Cores != p.CPU.Cores || q.CPU.BusyShare != p.CPU.BusyShare {
		t.Fatalf("read back cpu %+v, wrote %+v", q.CPU, p.CPU)
	}
}
