package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/stormsim/stormsim/deploy/k8s"
	"github.com/stormsim/stormsim/internal/s3out"
	"github.com/stormsim/stormsim/internal/testsrv"
	"github.com/stormsim/stormsim/report"
	"github.com/stormsim/stormsim/sim/history"
)

// TestIndexedJob_OneMachine runs deploy/k8s's Jobs without a cluster: one
// simrun process per index of the Indexed Job, each with exactly the
// arguments and environment Kubernetes would give its pod (the manifests'
// env resolved from the run ConfigMap, JOB_COMPLETION_INDEX added, $(VAR)
// expanded), against redis-server, their folders written to versitygw;
// then the merge Job's command. The merged run must equal one process
// running the same scenario and seed: the same workload, upload ids and
// files, the same outcome for every upload no other upload contends with,
// the same invariants, gates and verdict.
//
// It takes minutes under the race detector, so it runs only with
// STORMSIM_DISTRIBUTED=1: .ci/run runs it in its own step ("distributed
// run"), and `go test ./...` alone skips it saying so.
func TestIndexedJob_OneMachine(t *testing.T) {
	if os.Getenv("STORMSIM_DISTRIBUTED") != "1" {
		t.Skip("starts a Redis, versitygw and six processes (minutes under -race): set STORMSIM_DISTRIBUTED=1 to run it (.ci/run does)")
	}
	vgwBin := testsrv.VersitygwPath(t)
	redisAddr := testsrv.Redis(t)
	testsrv.AWSEnv(t)
	endpoint := testsrv.Versitygw(t, vgwBin, 0, "")
	ctx := context.Background()
	const bucket = "stormsim-runs"
	c, err := s3out.NewClient(ctx, s3out.Options{Endpoint: endpoint})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}

	m, err := k8s.Load()
	if err != nil {
		t.Fatal(err)
	}
	// The ConfigMaps as a user fills them in: this run, these servers.
	dir := t.TempDir()
	scenario := filepath.Join(dir, "scenario.yaml")
	if err := os.WriteFile(scenario, []byte(m.Scenario.Data["scenario.yaml"]), 0o644); err != nil {
		t.Fatal(err)
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	runName := "proof-" + hex.EncodeToString(b[:])
	startAt := time.Now().Add(15 * time.Second).UTC().Truncate(time.Second)
	cfg := *m.RunConfig.DeepCopy()
	cfg.Data["run"], cfg.Data["start_at"] = runName, startAt.Format(time.RFC3339)
	cfg.Data["redis"], cfg.Data["out_bucket"], cfg.Data["out_endpoint"] = "redis://"+redisAddr, bucket, endpoint
	secrets := map[string]string{"stormsim-aws/access_key_id": testsrv.AccessKey, "stormsim-aws/secret_access_key": testsrv.SecretKey}

	// versitygw's posix backend stores keys as files in folders and, on a
	// delete, removes the folders it leaves empty: one shard's removal of
	// its --out probe could take the run's folder away under another
	// shard's mkdir (PutObject 409 ExistingObjectIsDirectory, once in three
	// .ci/run runs on 2026-12-03). A bucket has no folders; an object at
	// the run's top keeps that folder for the test.
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(runName + "/.keep"),
		Body: strings.NewReader("")}); err != nil {
		t.Fatal(err)
	}
	pod := k8sPod{config: cfg, secrets: secrets, mounts: map[string]string{"/etc/stormsim": dir}}
	n := int(*m.Shards.Spec.Completions)
	shards := make([]*exec.Cmd, n)
	for i := range n {
		shards[i] = podProcess(t, dir, pod, m.Shards, map[string]string{"JOB_COMPLETION_INDEX": strconv.Itoa(i)})
		if err := shards[i].Start(); err != nil {
			t.Fatal(err)
		}
	}
	for i, p := range shards {
		if err := p.Wait(); err != nil {
			t.Fatalf("shard %d: %v (the Job's pod would fail)", i, err)
		}
	}
	merge := podProcess(t, dir, pod, m.Merge, nil)
	mergeCode := exitOf(t, merge.Run())

	prefix := "s3://" + bucket + "/" + runName
	single := exec.Command(os.Args[0], "--quiet", "--redis", "redis://"+redisAddr, "--out", prefix+"/single",
		"--out-endpoint", endpoint, scenario)
	single.Env = append(os.Environ(), childEnv+"=1")
	single.Stdout, single.Stderr = logFile(t, dir, "single"), logFile(t, dir, "single")
	singleCode := exitOf(t, single.Run())

	st := s3out.New(c, s3out.Options{})
	fetch := func(name string) (*report.Results, *history.Set) {
		d := filepath.Join(dir, "fetched", name)
		if err := st.Fetch(ctx, s3out.Location{Bucket: bucket, Prefix: runName + "/" + name}, d, "results.json", "history.jsonl"); err != nil {
			t.Fatal(err)
		}
		r, err := report.ReadResults(filepath.Join(d, "results.json"))
		if err != nil {
			t.Fatal(err)
		}
		h, err := history.ReadFiles(filepath.Join(d, "history.jsonl"))
		if err != nil {
			t.Fatal(err)
		}
		return r, h
	}
	mr, mh := fetch("merged")
	sr, sh := fetch("single")
	for i := range n {
		r, _ := fetch("shard-" + strconv.Itoa(i))
		if r.Started.Before(startAt) {
			t.Errorf("shard %d started at %v, before the barrier %v", i, r.Started, startAt)
		}
	}

	t.Logf("%d shards merged: verdict %s (exit %d); one process: %s (exit %d)", n, mr.Verdict, mergeCode, sr.Verdict, singleCode)
	// On a machine too busy for the harness (two cores shared with other
	// work), a run's speed gates are excused as inconclusive and its devices
	// may give up waiting: that side's verdict may be inconclusive where the
	// other passes, and only for that reason.
	bound := func(r *report.Results) bool {
		return r.Harness != nil && r.Harness.Saturation != nil && r.Harness.Saturation.Bound
	}
	excused := func(r *report.Results, code int) bool {
		return bound(r) && r.Verdict == report.Inconclusive && code == exitInconclusive
	}
	switch {
	case mergeCode == singleCode && mr.Verdict == sr.Verdict:
	case excused(mr, mergeCode) || excused(sr, singleCode):
		t.Logf("a harness-bound run: merged %s, single %s; comparing what the load does not decide", mr.Verdict, sr.Verdict)
	default:
		t.Errorf("merged verdict %s (exit %d), single process %s (exit %d); reasons %q vs %q",
			mr.Verdict, mergeCode, sr.Verdict, singleCode, mr.Reasons, sr.Reasons)
	}
	if mr.WorkloadHash == "" || mr.WorkloadHash != sr.WorkloadHash || mr.Seed != sr.Seed {
		t.Errorf("workload %s seed %d merged, %s seed %d single", mr.WorkloadHash, mr.Seed, sr.WorkloadHash, sr.Seed)
	}
	if len(mr.Gates) != len(sr.Gates) {
		t.Errorf("gates merged %q, single %q", gateVerdicts(mr), gateVerdicts(sr))
	}
	for i := range min(len(mr.Gates), len(sr.Gates)) {
		m, g := mr.Gates[i], sr.Gates[i]
		if m.Expr != g.Expr || m.NoData != g.NoData || m.OK != g.OK && !(m.Inconclusive && bound(mr) || g.Inconclusive && bound(sr)) {
			t.Errorf("gate %d: merged %s, single %s", i, gateVerdicts(mr)[i], gateVerdicts(sr)[i])
		}
	}
	if g, w := invariantVerdicts(mr), invariantVerdicts(sr); !slices.Equal(g, w) {
		t.Errorf("invariants merged %q, single %q", g, w)
	}
	compareUploads(t, mh, sh)

	// simrun check reads the shards from the store as report --merge did,
	// and finds what it finds in the single run's folder.
	checkOut := func(at string) (int, string) {
		cmd := exec.Command(os.Args[0], "check", "--out-endpoint", endpoint, at)
		cmd.Env = append(os.Environ(), childEnv+"=1")
		out, err := cmd.CombinedOutput()
		return exitOf(t, err), string(out)
	}
	gotCode, got := checkOut(prefix)
	wantCode, want := checkOut(prefix + "/single")
	if gotCode != wantCode || !strings.Contains(got, strconv.Itoa(len(sh.Uploads))+" upload(s)") {
		t.Errorf("simrun check %s: exit %d, on the single run %d:\n%s\n%s", prefix, gotCode, wantCode, got, want)
	}
}

// podProcess is the test binary as simrun with the arguments and
// environment Kubernetes gives job's pod: env resolved from pod's
// ConfigMap and secrets, extra added (JOB_COMPLETION_INDEX), $(VAR)
// expanded, and files under a mounted folder read from its local copy.
func podProcess(t *testing.T, dir string, pod k8sPod, job batchv1.Job, extra map[string]string) *exec.Cmd {
	t.Helper()
	ctr := job.Spec.Template.Spec.Containers[0]
	env, err := k8s.Env(ctr, pod.config, pod.secrets, extra)
	if err != nil {
		t.Fatal(err)
	}
	args, err := k8s.Expand(ctr.Args, env)
	if err != nil {
		t.Fatal(err)
	}
	for i, a := range args {
		for mount, local := range pod.mounts {
			if rest, ok := strings.CutPrefix(a, mount+"/"); ok {
				args[i] = filepath.Join(local, rest)
			}
		}
	}
	cmd := exec.Command(os.Args[0], args...)
	// Nothing of the test's own environment: HOME and TMPDIR are the
	// pod's (no ~/.aws), the rest is the manifest's.
	cmd.Env = []string{childEnv + "=1", "HOME=" + t.TempDir(), "TMPDIR=" + t.TempDir()}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	name := job.Name + extra["JOB_COMPLETION_INDEX"]
	cmd.Stdout, cmd.Stderr = logFile(t, dir, name), logFile(t, dir, name)
	return cmd
}

// k8sPod is what a pod's environment comes from.
type k8sPod struct {
	config  corev1.ConfigMap
	secrets map[string]string
	mounts  map[string]string // a mount path, and the local folder holding its files
}

// logFile is an append-only log of a child process, shown when the test
// fails.
func logFile(t *testing.T, dir, name string) *os.File {
	t.Helper()
	path := filepath.Join(dir, name+".log")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		f.Close()
		if b, err := os.ReadFile(path); t.Failed() && err == nil {
			t.Logf("%s:\n%s", name, b)
		}
	})
	return f
}

// exitOf is a finished process's exit code.
func exitOf(t *testing.T, err error) int {
	t.Helper()
	if err == nil {
		return 0
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	t.Fatal(err)
	return -1
}

func gateVerdicts(r *report.Results) []string {
	var out []string
	for _, g := range r.Gates {
		out = append(out, fmt.Sprintf("%s ok=%v nodata=%v inconclusive=%v", g.Expr, g.OK, g.NoData, g.Inconclusive))
	}
	return out
}

func invariantVerdicts(r *report.Results) []string {
	var out []string
	for _, v := range r.Invariants {
		out = append(out, fmt.Sprintf("%s ok=%v", v.Name, v.OK))
	}
	sort.Strings(out)
	return out
}

// compareUploads: the same upload ids, each the same file, size and
// content; and where no other upload touches the same file (nothing to
// race with) and both runs' devices learned a decision (a device that gave
// up, or whose request failed, says how busy the machine was, not what the
// system decided), the same outcome.
func compareUploads(t *testing.T, merged, single *history.Set) {
	t.Helper()
	type what struct {
		user, device, path, sha string
		size, base              int64
	}
	byID := func(h *history.Set) map[string]history.Upload {
		m := map[string]history.Upload{}
		for _, u := range h.Uploads {
			m[u.ID] = u
		}
		return m
	}
	mu, su := byID(merged), byID(single)
	if len(mu) != len(su) || len(su) == 0 {
		t.Errorf("%d uploads merged, %d single", len(mu), len(su))
	}
	touches := map[string]int{}
	for _, u := range su {
		touches[u.User+"/"+u.Path]++
	}
	alone, same := 0, 0
	for id, s := range su {
		m, ok := mu[id]
		if !ok {
			t.Errorf("upload %s of the single run is not in the merged history", id)
			continue
		}
		// A device edits from the head it has learned, so the base of an
		// upload on a file touched more than once depends on whether the
		// earlier upload's outcome had arrived: timing, not the workload.
		mb, sb := m.Base, s.Base
		if touches[s.User+"/"+s.Path] > 1 {
			mb, sb = 0, 0
		}
		if a, b := (what{m.User, m.Device, m.Path, m.SHA256, m.Size, mb}), (what{s.User, s.Device, s.Path, s.SHA256, s.Size, sb}); a != b {
			t.Errorf("upload %s: merged %+v, single %+v", id, a, b)
		}
		if touches[s.User+"/"+s.Path] == 1 && decided(m.Outcome) && decided(s.Outcome) {
			alone++
			if m.Outcome == s.Outcome {
				same++
			} else {
				t.Errorf("upload %s, alone on %s/%s: merged %s, single %s", id, s.User, s.Path, m.Outcome, s.Outcome)
			}
		}
	}
	if alone == 0 {
		t.Error("no decided upload alone on its file: the outcome comparison compared nothing")
	}
	t.Logf("%d uploads, the same ids and files; %d decided in both runs and alone on their file, %d with the same outcome", len(su), alone, same)
}

func decided(o history.Outcome) bool {
	return o == history.OutcomeCommitted || o == history.OutcomeConflict || o == history.OutcomeRejected
}
