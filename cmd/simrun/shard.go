package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/stormsim/stormsim/internal/syncx"
	"github.com/stormsim/stormsim/sim/traffic"
)

// Environment of a generator pod in a Kubernetes Indexed Job
// (deploy/k8s/job.yaml): Kubernetes sets the pod's index; the Job's
// completions count is not visible to a pod, so the manifest passes it in
// shardsEnv, which a test keeps equal to spec.completions.
const (
	indexEnv  = "JOB_COMPLETION_INDEX"
	shardsEnv = "STORMSIM_SHARDS"
)

// parseShard reads --shard I/N, or --shard auto: I from
// JOB_COMPLETION_INDEX and N from STORMSIM_SHARDS, as getenv returns them.
func parseShard(v string, getenv func(string) string) (traffic.Shard, error) {
	if v == "" {
		return traffic.Shard{}, nil
	}
	if v == "auto" {
		return autoShard(getenv)
	}
	var s traffic.Shard
	if n, err := fmt.Sscanf(v, "%d/%d", &s.I, &s.N); err != nil || n != 2 || s.N < 1 || s.I < 0 || s.I >= s.N ||
		fmt.Sprintf("%d/%d", s.I, s.N) != v {
		return s, fmt.Errorf("--shard %q: want I/N with 0 <= I < N, e.g. 0/4, or auto (in a Kubernetes Indexed Job)", v)
	}
	return s, nil
}

// autoShard is the shard of an Indexed Job's pod.
func autoShard(getenv func(string) string) (traffic.Shard, error) {
	idx, n := getenv(indexEnv), getenv(shardsEnv)
	if idx == "" {
		return traffic.Shard{}, fmt.Errorf("--shard auto: %s is not set (Kubernetes sets it in the pods of an Indexed Job; elsewhere use --shard I/N)", indexEnv)
	}
	if n == "" {
		return traffic.Shard{}, fmt.Errorf("--shard auto: %s is not set (the Job's manifest sets it to spec.completions)", shardsEnv)
	}
	i, err := strconv.Atoi(idx)
	if err != nil || i < 0 {
		return traffic.Shard{}, fmt.Errorf("--shard auto: %s=%q: want a non-negative integer", indexEnv, idx)
	}
	count, err := strconv.Atoi(n)
	if err != nil || count < 1 {
		return traffic.Shard{}, fmt.Errorf("--shard auto: %s=%q: want a positive integer", shardsEnv, n)
	}
	if i >= count {
		return traffic.Shard{}, fmt.Errorf("--shard auto: %s=%d is not below %s=%d (is %s the Job's spec.completions?)", indexEnv, i, shardsEnv, count, shardsEnv)
	}
	return traffic.Shard{I: i, N: count}, nil
}

// parseStartAt reads --start-at: an RFC 3339 instant, or "" for none.
func parseStartAt(v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("--start-at %q: want an RFC 3339 time such as 2026-12-02T13:00:00Z", v)
	}
	return t, nil
}

// waitStart is the shards' start barrier: it returns at the instant at
// (the zero time: at once), so that processes given the same instant start
// their planned arrivals together, or when ctx ends. An instant already
// past starts at once and says by how much (a restarted pod starts late
// rather than never).
func waitStart(ctx context.Context, at time.Time, log io.Writer) error {
	if at.IsZero() {
		return nil
	}
	d := time.Until(at)
	if d <= 0 {
		fmt.Fprintf(log, "start: --start-at %s passed %v ago; starting now\n", at.Format(time.RFC3339), (-d).Round(time.Millisecond))
		return nil
	}
	fmt.Fprintf(log, "start: waiting %v for --start-at %s\n", d.Round(time.Millisecond), at.Format(time.RFC3339))
	if err := syncx.Sleep(ctx, d); err != nil {
		return fmt.Errorf("wait for --start-at: %w", err)
	}
	return nil
}
