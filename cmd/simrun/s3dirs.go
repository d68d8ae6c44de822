package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/stormsim/stormsim/internal/connect"
	"github.com/stormsim/stormsim/internal/s3out"
	"github.com/stormsim/stormsim/report"
)

// storeOptions reach the S3-compatible store of s3:// run folders.
type storeOptions struct {
	endpoint string
	imds     *bool // shared with the run's --imds
}

func (s *storeOptions) register(fs *flag.FlagSet, imds *bool) {
	fs.StringVar(&s.endpoint, "out-endpoint", "", "S3-compatible endpoint of s3:// run folders, e.g. http://127.0.0.1:7070 (default AWS S3; credentials and region from the AWS configuration chain)")
	if imds == nil {
		imds = fs.Bool("imds", false, "let the AWS SDK ask the EC2 instance metadata service (169.254.169.254) for credentials")
	}
	s.imds = imds
}

// open connects to the store; bad flags or no credentials are usage errors.
func (s *storeOptions) open(ctx context.Context) (*s3out.Store, error) {
	o := s3out.Options{Endpoint: s.endpoint, AllowIMDS: *s.imds}
	c, err := s3out.NewClient(ctx, o)
	if errors.Is(err, s3out.ErrURL) || errors.Is(err, connect.ErrNoCredentials) {
		return nil, usageError{fmt.Errorf("--out-endpoint: %w", err)}
	}
	if err != nil {
		return nil, err
	}
	return s3out.New(c, o), nil
}

// s3Output is a run's --out s3://...: the run writes a local folder, which
// is uploaded when the run ends.
type s3Output struct {
	store *s3out.Store
	to    s3out.Location
	dir   string
	log   io.Writer
}

// prepareS3Out checks that the run's folder can be written at out (before
// any load starts) and makes the local folder the run writes.
func prepareS3Out(ctx context.Context, out string, st *storeOptions, log io.Writer) (*s3Output, error) {
	to, err := s3out.Parse(out)
	if err != nil {
		return nil, usagef("--out: %w", err)
	}
	store, err := st.open(ctx)
	if err != nil {
		return nil, err
	}
	pctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := store.Probe(pctx, to); err != nil {
		return nil, usagef("--out: %w", err)
	}
	dir, err := os.MkdirTemp("", "simrun-out-*")
	if err != nil {
		return nil, fmt.Errorf("make local output folder: %w", err)
	}
	return &s3Output{store: store, to: to, dir: dir, log: log}, nil
}

// publish uploads the run's folder, whatever the run's outcome (an
// interrupted run's partial history too), and returns the run's error. A
// failed upload keeps the local folder and says where it is; it turns a
// pass into an inconclusive run (the store lacks the evidence) and leaves
// any other exit code as it was.
func (o *s3Output) publish(ctx context.Context, runErr error) error {
	uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Minute)
	defer cancel()
	n, err := o.store.Upload(uctx, o.dir, o.to)
	if err != nil {
		fmt.Fprintf(os.Stderr, "simrun: --out: %v; the run's folder stays at %s\n", err, o.dir)
		if exitCode(runErr) == exitPass {
			return exitError{exitInconclusive}
		}
		return runErr
	}
	fmt.Fprintf(o.log, "output: %d file(s) uploaded to %s\n", n, o.to)
	if err := os.RemoveAll(o.dir); err != nil {
		fmt.Fprintf(os.Stderr, "simrun: remove local output folder: %v\n", err)
	}
	return runErr
}

// fetchRuns turns the arguments of check and report --merge into local run
// folders: a local folder stays as it is; an s3:// prefix becomes its
// run's folder, or its shard-I/ folders in the order of I, downloaded
// (results.json and history.jsonl) under a temporary folder that cleanup
// removes.
func fetchRuns(ctx context.Context, args []string, st *storeOptions) (dirs []string, cleanup func(), err error) {
	cleanup = func() {}
	var store *s3out.Store
	var tmp string
	defer func() {
		if err != nil && tmp != "" {
			os.RemoveAll(tmp)
		}
	}()
	for _, a := range args {
		if !s3out.IsURL(a) {
			dirs = append(dirs, a)
			continue
		}
		at, err := s3out.Parse(a)
		if err != nil {
			return nil, nil, usageError{err}
		}
		if store == nil {
			if store, err = st.open(ctx); err != nil {
				return nil, nil, err
			}
			if tmp, err = os.MkdirTemp("", "simrun-runs-*"); err != nil {
				return nil, nil, fmt.Errorf("make local folder for %s: %w", a, err)
			}
		}
		runs, err := store.Runs(ctx, at)
		if errors.Is(err, s3out.ErrMissing) {
			return nil, nil, usageError{err}
		}
		if err != nil {
			return nil, nil, err
		}
		var got []string
		for _, r := range runs {
			d := filepath.Join(tmp, strconv.Itoa(len(dirs)))
			if err := store.Fetch(ctx, r, d, "results.json", "history.jsonl"); err != nil {
				return nil, nil, fmt.Errorf("%s: %w", a, err)
			}
			got = append(got, d)
			dirs = append(dirs, d)
		}
		if err := completeShards(a, runs, got); err != nil {
			return nil, nil, err
		}
	}
	if tmp != "" {
		cleanup = func() { os.RemoveAll(tmp) }
	}
	return dirs, cleanup, nil
}

// shardFlag finds a shard's --shard I/N in its rerun line.
var shardFlag = regexp.MustCompile(`--shard (\d+)/(\d+)`)

// completeShards checks that the shard-I/ folders of a prefix are the
// whole run: each results.json names shard I of the same N, and all N are
// there. A merge missing a shard would understate the load without
// saying so.
func completeShards(prefix string, runs []s3out.Location, dirs []string) error {
	if len(runs) == 1 {
		if _, sharded := s3out.ShardIndex(filepath.Base(runs[0].Prefix)); !sharded {
			return nil // one run's own folder
		}
	}
	n := -1
	seen := map[int]bool{}
	for k, d := range dirs {
		r, err := report.ReadResults(filepath.Join(d, "results.json"))
		if err != nil {
			return fmt.Errorf("%s: %w", runs[k], err)
		}
		m := shardFlag.FindStringSubmatch(r.Rerun)
		if m == nil {
			return fmt.Errorf("%s: results.json's rerun line names no --shard I/N: not a shard of a sharded run", runs[k])
		}
		i, _ := strconv.Atoi(m[1])
		count, _ := strconv.Atoi(m[2])
		if fi, _ := s3out.ShardIndex(filepath.Base(runs[k].Prefix)); fi != i {
			return fmt.Errorf("%s: results.json is shard %d/%d, not shard %d", runs[k], i, count, fi)
		}
		if n >= 0 && count != n {
			return fmt.Errorf("%s: shard %d/%d, but other shards of %s are of %d", runs[k], i, count, prefix, n)
		}
		n = count
		seen[i] = true
	}
	var missing []string
	for i := range n {
		if !seen[i] {
			missing = append(missing, strconv.Itoa(i))
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%s: incomplete run: shard(s) %s of %d missing (a generator pod that failed, or has not finished)", prefix, strings.Join(missing, ", "), n)
	}
	return nil
}

// logTo is where a run's notes go: stderr, unless --quiet.
func logTo(o runOptions) io.Writer {
	if o.quiet {
		return io.Discard
	}
	return os.Stderr
}
