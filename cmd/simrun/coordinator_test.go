package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stormsim/stormsim/internal/testsrv"
	"github.com/stormsim/stormsim/scenarios"
	"github.com/stormsim/stormsim/sim"
	"github.com/stormsim/stormsim/sim/delivery"
	"github.com/stormsim/stormsim/sim/env"
)

// childEnv makes the test binary act as simrun, so a test can start
// `simrun coordinator` processes without building the command.
const childEnv = "STORMSIM_TEST_SIMRUN_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		os.Exit(run(os.Args[1:]))
	}
	os.Exit(m.Run())
}

const multiProcess = `
name: coordinator-processes
seed: 11
drain: 30s
phases:
  - {kind: burst, count: 150, at: 0s, duration: 500ms}
  - {kind: constant, rate: 100, duration: 3s}
population: {users: 30, devices_per_user: 3, files_per_user: 4, hot_files: 1, hot_share: 0.5, stale_share: 0.05, max_staleness: 2}
sizes: {kind: lognormal, median: 2KiB, sigma: 1, cap: 64KiB}
coordinator: {strategy: redis-lock, concurrency: 64, lock_ttl: 2s}
wait: {poll: {timeout: 40s}}
gates: ["invariants.violations == 0", "uploads.unknown == 0"]
`

// coordinatorProcess is a `simrun coordinator` child process.
type coordinatorProcess struct {
	name string
	cmd  *exec.Cmd
	out  *testsrv.SyncBuffer
}

// startCoordinator starts `simrun coordinator` with the embedded fakes'
// static credentials.
func startCoordinator(t *testing.T, name string, args ...string) *coordinatorProcess {
	t.Helper()
	return startCoordinatorEnv(t, name, []string{"AWS_ACCESS_KEY_ID=stormsim", "AWS_SECRET_ACCESS_KEY=stormsim",
		"AWS_REGION=us-east-1", "AWS_EC2_METADATA_DISABLED=true", "AWS_CONFIG_FILE=" + filepath.Join(t.TempDir(), "none"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(t.TempDir(), "none")}, args...)
}

// startCoordinatorEnv starts `simrun coordinator` as consumer name, with
// the test's environment and env on top; it is stopped (SIGTERM) when the
// test ends, and its output logged if the test failed.
func startCoordinatorEnv(t *testing.T, name string, env []string, args ...string) *coordinatorProcess {
	t.Helper()
	p := &coordinatorProcess{name: name, out: &testsrv.SyncBuffer{}}
	p.cmd = exec.Command(os.Args[0], append([]string{"coordinator", "--consumer", name}, args...)...)
	p.cmd.Env = append(append(os.Environ(), childEnv+"=1"), env...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		_ = p.cmd.Wait()
		if t.Failed() {
			t.Logf("%s output:\n%s", name, p.output())
		}
	})
	return p
}

func (p *coordinatorProcess) output() string { return p.out.String() }

// TestCoordinator_ThreeProcesses_OneKilled runs three `simrun coordinator`
// processes on a shared event stream, kills one mid-run (SIGKILL: no
// cleanup, its entries and locks left behind), and checks the invariants
// on the run's history.
func TestCoordinator_ThreeProcesses_OneKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three processes")
	}
	ctx := context.Background()
	// The embedded fakes, on addresses the processes can reach.
	env, err := env.NewRemote(ctx, env.RemoteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()
	kp := "stormsim:procs:"
	stream, feedback := kp+"events", kp+"feedback"
	args := []string{"--redis", "redis://" + env.MR.Addr(), "--s3", env.S3URL, "--bucket", env.Bucket,
		"--key-prefix", kp, "--stream", stream, "--feedback", feedback, "--lock-ttl", "2s", "--min-idle", "1s", "--workers", "16"}
	procs := []*coordinatorProcess{startCoordinator(t, "c1", args...), startCoordinator(t, "c2", args...), startCoordinator(t, "c3", args...)}
	for _, p := range procs {
		waitOutput(t, p, "events from", 20*time.Second)
	}

	sc, err := scenarios.Parse("coordinator-processes.yaml", []byte(multiProcess))
	if err != nil {
		t.Fatal(err)
	}
	killed := make(chan time.Duration, 1)
	start := time.Now()
	go func() {
		time.Sleep(1500 * time.Millisecond) // mid-run: the burst is being handled
		_ = procs[1].cmd.Process.Kill()
		killed <- time.Since(start)
	}()
	res, err := sim.Run(ctx, sim.Options{Scenario: sc, Seed: sc.Seed, OutDir: t.TempDir(), Env: env.Env, KeyPrefix: kp,
		External: &delivery.External{Stream: stream, Feedback: feedback, Wait: 30 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("killed c2 at %v; run took %v", <-killed, time.Since(start).Round(time.Millisecond))
	for _, c := range res.Check.Checks {
		if !c.OK {
			t.Errorf("%s: %d violations %v %s", c.Name, c.Violations, c.Examples, c.Detail)
		}
	}
	m := res.Measure.Outcomes
	if got := m["committed"] + m["conflict"]; got != res.Planned || m["committed"] == 0 || m["conflict"] == 0 {
		t.Errorf("outcomes %v, planned %d", m, res.Planned)
	}
	if res.Decisions["committed"] == 0 {
		t.Errorf("no decisions came back from the processes: %v", res.Decisions)
	}
	t.Logf("outcomes %v, delivery %+v", m, res.Delivery)
	for _, p := range procs {
		if p.name != "c2" {
			_ = p.cmd.Process.Signal(syscall.SIGTERM)
			_ = p.cmd.Wait()
			if out := p.output(); !strings.Contains(out, "stopped after") {
				t.Errorf("%s did not stop cleanly:\n%s", p.name, out)
			} else {
				t.Log(strings.TrimSpace(out[strings.LastIndex(out, "coordinator "):]))
			}
		}
	}
}

// TestCoordinatorCmd_BadKeepVersions_Exit2: a negative --keep-versions is
// bad usage, found before any server is reached.
func TestCoordinatorCmd_BadKeepVersions_Exit2(t *testing.T) {
	if got := run([]string{"coordinator", "--redis", "redis://127.0.0.1:1", "--s3", "http://127.0.0.1:1", "--keep-versions", "-1"}); got != exitUsage {
		t.Errorf("exit %d, want %d", got, exitUsage)
	}
}
