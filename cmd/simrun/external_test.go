package main

import (
	"bufio"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/stormsim/stormsim/coordinator"
	"github.com/stormsim/stormsim/internal/testsrv"
	"github.com/stormsim/stormsim/sim/env"
)

// TestCoordinatorCmd_NoCredentials_Exit2: a coordinator process without
// AWS credentials stops at start (exit 2) instead of failing every
// event, and never asks the EC2 instance metadata service.
func TestCoordinatorCmd_NoCredentials_Exit2(t *testing.T) {
	imds := testsrv.NoAWSCredentials(t)
	r, err := env.NewRemote(context.Background(), env.RemoteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if code := run([]string{"coordinator", "--redis", "redis://" + r.MR.Addr(), "--s3", r.S3URL}); code != exitUsage {
		t.Errorf("exit %d, want %d", code, exitUsage)
	}
	if got := imds.Requests(); len(got) > 0 {
		t.Errorf("asked the EC2 instance metadata service: %v", got)
	}
}

// TestRunCmd_S3NoCredentials_Exit2: --s3 without credentials is bad
// usage, found before anything is sent.
func TestRunCmd_S3NoCredentials_Exit2(t *testing.T) {
	imds := testsrv.NoAWSCredentials(t)
	s3 := testsrv.NewRecorder(t)
	code := run([]string{"--quiet", "--s3", s3.URL, "--out", filepath.Join(t.TempDir(), "r"), "../../scenarios/ci.yaml"})
	if code != exitUsage {
		t.Errorf("exit %d, want %d", code, exitUsage)
	}
	if got := append(imds.Requests(), s3.Requests()...); len(got) > 0 {
		t.Errorf("requests sent without credentials: %v", got)
	}
}

const externalTiny = `
name: external-tiny
seed: 5
drain: 30s
phases:
  - {kind: burst, count: 30, at: 0s, duration: 500ms}
population: {users: 5, devices_per_user: 2, files_per_user: 2, hot_files: 1, hot_share: 0.5}
sizes: {kind: lognormal, median: 2KiB, sigma: 1, cap: 64KiB}
wait: {poll: {timeout: 30s}}
gates: ["invariants.violations == 0", "uploads.unknown == 0"]
`

// TestRunCmd_External_PrintedCommandWorks follows the README: `simrun
// --external` waits for a coordinator (the load does not start before),
// and the command line it prints, run literally with nothing else in its
// environment (no AWS credentials), is a coordinator that decides every
// upload. The scenario bounds the versions kept (storage.keep_versions),
// so the line must pass --keep-versions on: without it the process would
// not meter the expiries and the run's billing check would fail.
func TestRunCmd_External_PrintedCommandWorks(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two processes")
	}
	imds := testsrv.NoAWSCredentials(t)
	dir := t.TempDir()
	scenario := filepath.Join(dir, "tiny.yaml")
	if err := os.WriteFile(scenario, []byte(externalTiny+"storage: {keep_versions: 1}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	runner := exec.Command(os.Args[0], "--external", "--consumer-wait", "60s", "--out", filepath.Join(dir, "run"), scenario)
	runner.Env = append(os.Environ(), childEnv+"=1")
	stderr, err := runner.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := runner.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = runner.Process.Kill(); _ = runner.Wait() }()

	var log strings.Builder
	lines := make(chan string, 64)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		_, _ = io.Copy(io.Discard, stderr)
	}()
	var cmdline string
	waiting := false
	timeout := time.After(60 * time.Second)
	for cmdline == "" || !waiting {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("simrun ended before printing the coordinator command and waiting:\n%s", log.String())
			}
			log.WriteString(l + "\n")
			if strings.Contains(l, "simrun coordinator ") {
				cmdline = strings.TrimSpace(l)
			}
			waiting = waiting || strings.Contains(l, "waiting up to 1m0s for a coordinator process")
		case <-timeout:
			t.Fatalf("no coordinator command line or wait message in 60s:\n%s", log.String())
		}
	}
	if strings.Contains(log.String(), "uploads/s") {
		t.Errorf("the load started before a coordinator joined:\n%s", log.String())
	}
	if !strings.Contains(cmdline, " --keep-versions 1") {
		t.Errorf("the coordinator command does not pass storage.keep_versions on: %s", cmdline)
	}
	// The printed line: VAR=value ... simrun coordinator FLAGS.
	fields := strings.Fields(cmdline)
	for i, f := range fields {
		fields[i] = strings.Trim(f, "'") // the shell's quotes: '' is an empty argument
	}
	coord := exec.Command(os.Args[0])
	coord.Env = []string{childEnv + "=1", "HOME=" + dir, "AWS_EC2_METADATA_SERVICE_ENDPOINT=" + imds.URL,
		"AWS_CONFIG_FILE=" + filepath.Join(dir, "none"), "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(dir, "none")}
	for i, f := range fields {
		if f == "simrun" {
			coord.Args = append(coord.Args, fields[i+1:]...)
			break
		}
		coord.Env = append(coord.Env, f)
	}
	var cout strings.Builder
	coord.Stdout, coord.Stderr = &cout, &cout
	if err := coord.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = coord.Process.Signal(syscall.SIGTERM)
		_ = coord.Wait()
		if t.Failed() {
			t.Logf("coordinator output:\n%s", cout.String())
		}
	}()
	for l := range lines {
		log.WriteString(l + "\n")
	}
	err = runner.Wait()
	if code := runner.ProcessState.ExitCode(); code != 0 {
		t.Errorf("simrun --external exited %d (%v):\n%s", code, err, log.String())
	}
	if !strings.Contains(log.String(), "joined; starting the load") {
		t.Errorf("simrun did not say the coordinator joined:\n%s", log.String())
	}
	if got := imds.Requests(); len(got) > 0 {
		t.Errorf("asked the EC2 instance metadata service: %v", got)
	}
}

// TestCoordinatorCmd_FailingEvents_SaysWhy: a coordinator that fails
// every event prints the first error at once and again when it stops,
// not only a count of failed attempts.
func TestCoordinatorCmd_FailingEvents_SaysWhy(t *testing.T) {
	ctx := context.Background()
	r, err := env.NewRemote(ctx, env.RemoteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	kp := "stormsim:failing:"
	// A bucket that does not exist: every event fails.
	p := startCoordinator(t, "c1", "--redis", "redis://"+r.MR.Addr(), "--s3", r.S3URL, "--bucket", "no-such-bucket",
		"--key-prefix", kp, "--min-idle", "1s", "--max-deliveries", "2")
	waitOutput(t, p, "events from", 20*time.Second)
	q, err := coordinator.NewQueue(r.Redis, coordinator.QueueConfig{Stream: kp + "events"})
	if err != nil {
		t.Fatal(err)
	}
	var rec events.S3EventRecord
	rec.EventName = "ObjectCreated:Put"
	rec.S3.Bucket.Name, rec.S3.Object.Key = "no-such-bucket", "staging/u1/up1"
	if _, err := q.Add(ctx, rec); err != nil {
		t.Fatal(err)
	}
	waitOutput(t, p, "first failed event: ", 20*time.Second)
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	_ = p.cmd.Wait()
	out := p.output()
	if !strings.Contains(out, "attempts failed; first error: ") || !strings.Contains(out, "no-such-bucket") {
		t.Errorf("the stop line does not say why events failed:\n%s", out)
	}
}

func waitOutput(t *testing.T, p *coordinatorProcess, want string, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !strings.Contains(p.output(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("%s did not print %q within %v:\n%s", p.name, want, d, p.output())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRunCmd_ExternalQuiet_PrintsCommand: --quiet silences progress, not
// the coordinator command a user of --external has to start.
func TestRunCmd_ExternalQuiet_PrintsCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a process")
	}
	dir := t.TempDir()
	scenario := filepath.Join(dir, "tiny.yaml")
	if err := os.WriteFile(scenario, []byte(externalTiny), 0o644); err != nil {
		t.Fatal(err)
	}
	// No coordinator joins: the run gives up after the short wait.
	runner := exec.Command(os.Args[0], "--external", "--quiet", "--consumer-wait", "100ms", "--out", filepath.Join(dir, "run"), scenario)
	runner.Env = append(os.Environ(), childEnv+"=1")
	out, _ := runner.CombinedOutput()
	if !strings.Contains(string(out), "simrun coordinator --redis ") {
		t.Errorf("simrun --external --quiet did not print the coordinator command:\n%s", out)
	}
}

// TestRunCmd_S3KeepVersions_Exit2: storage.keep_versions bounds the
// embedded S3 only; with --s3 it is bad usage, found before anything is
// sent.
func TestRunCmd_S3KeepVersions_Exit2(t *testing.T) {
	s3 := testsrv.NewRecorder(t)
	dir := t.TempDir()
	scenario := filepath.Join(dir, "keep.yaml")
	if err := os.WriteFile(scenario, []byte(externalTiny+"storage: {keep_versions: 2}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code := run([]string{"--quiet", "--s3", s3.URL, "--out", filepath.Join(dir, "r"), scenario}); code != exitUsage {
		t.Errorf("exit %d, want %d", code, exitUsage)
	}
	if got := s3.Requests(); len(got) > 0 {
		t.Errorf("requests sent: %v", got)
	}
}
