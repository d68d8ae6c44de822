package model

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// TestRun_CI_Golden pins the figures of a plan of scenarios/ci.yaml on
// profiles/embedded.yaml: the model is virtual time, so any change here
// is a change of the model, the profile, the workload or the
// coordinator's recorded calls. Run with -update after an intended one.
func TestRun_CI_Golden(t *testing.T) {
	res := plan(t, builtin(t, "ci"), "embedded", 42)
	m := res.Run.Measure
	var b strings.Builder
	fmt.Fprintf(&b, "workload %s\n", res.Run.WorkloadHash)
	fmt.Fprintf(&b, "outcomes committed %d conflict %d unknown %d\n", m.Outcomes["committed"], m.Outcomes["conflict"], m.Outcomes["unknown"])
	fmt.Fprintf(&b, "versions v2+ %d max %d\n", m.CommittedV2Plus, m.MaxVersion)
	fmt.Fprintf(&b, "latency_us p50 %d p99 %d max %d\n", m.Latency.ValueAtQuantile(50), m.Latency.ValueAtQuantile(99), m.Latency.Max())
	fmt.Fprintf(&b, "decision_us p50 %d p99 %d\n", m.Phases[2].ValueAtQuantile(50), m.Phases[2].ValueAtQuantile(99))
	fmt.Fprintf(&b, "polls mean %.4f push-only %d\n", m.PollsHist.Mean(), m.PushOnly)
	fmt.Fprintf(&b, "max_in_flight %d elapsed %s\n", m.MaxInFlight, res.Run.Elapsed)
	fmt.Fprintf(&b, "invocations %d lock_busy %d max_concurrency %d events %d\n", res.Info.Invocations, res.Info.LockBusy, res.Info.MaxConcurrency, res.Info.Events)
	fmt.Fprintf(&b, "s3 %v redis %d\n", res.Run.Ops.S3, res.Run.Ops.Redis)
	path := filepath.Join("testdata", "ci.golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if got := b.String(); got != string(want) {
		t.Errorf("plan of ci.yaml changed:\n got:\n%s\nwant:\n%s", got, want)
	}
}
