package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/redis/go-redis/v9"

	"github.com/stormsim/stormsim/coordinator"
	"github.com/stormsim/stormsim/internal/connect"
	"github.com/stormsim/stormsim/sim/env"
)

type coordinatorOptions struct {
	redis, s3, bucket       string
	keyPrefix, objectPrefix string
	strategy                string
	stream, group, feedback string
	consumer                string
	lockTTL, resultTTL      time.Duration
	minIdle                 time.Duration
	workers, maxDeliveries  int
	keepVersions            int
	imds                    bool
}

// coordinatorCmd runs the coordinator as a long-running process that takes
// events from a shared Redis Stream (several processes share one stream
// through a consumer group), until SIGINT or SIGTERM.
func coordinatorCmd(args []string) error {
	fs := flag.NewFlagSet("coordinator", flag.ContinueOnError)
	var o coordinatorOptions
	host, _ := os.Hostname()
	fs.StringVar(&o.redis, "redis", "", "Redis: redis://HOST:PORT, rediss://..., or HOST:PORT,... for a cluster (required)")
	fs.StringVar(&o.s3, "s3", "", "S3-compatible endpoint (required); credentials and region from the AWS configuration chain")
	fs.StringVar(&o.bucket, "bucket", "stormsim", "bucket")
	fs.StringVar(&o.keyPrefix, "key-prefix", "stormsim:", "prefix of every Redis key and channel")
	fs.StringVar(&o.objectPrefix, "object-prefix", "", `prefix of every S3 key ("" or ending in "/")`)
	fs.StringVar(&o.strategy, "strategy", string(coordinator.StrategyRedisLock), "redis-lock or s3-conditional")
	fs.StringVar(&o.stream, "stream", "", "events stream (default KEY-PREFIX + \"events\")")
	fs.StringVar(&o.group, "group", "coordinators", "consumer group shared by the processes")
	fs.StringVar(&o.feedback, "feedback", "", "stream to report decisions and finished entries on (for simrun runs)")
	fs.StringVar(&o.consumer, "consumer", fmt.Sprintf("%s-%d", host, os.Getpid()), "this process's consumer name")
	fs.DurationVar(&o.lockTTL, "lock-ttl", 10*time.Second, "lock TTL")
	fs.DurationVar(&o.resultTTL, "result-ttl", 24*time.Hour, "how long results (and commit records) stay in Redis, at least 1s")
	fs.DurationVar(&o.minIdle, "min-idle", 30*time.Second, "claim entries pending this long with another consumer (must exceed the longest handler run)")
	fs.IntVar(&o.workers, "workers", 16, "events handled at once")
	fs.IntVar(&o.maxDeliveries, "max-deliveries", 3, "deliveries of a failing event before it goes to the dead-letter stream")
	fs.IntVar(&o.keepVersions, "keep-versions", 0, "N > 0: a bucket lifecycle rule keeps only the newest N versions/ objects of each file, and each commit meters the expiry it causes (must match the rule; 0: every version stays)")
	fs.BoolVar(&o.imds, "imds", false, "let the AWS SDK ask the EC2 instance metadata service (169.254.169.254) for credentials; off, the process reaches only --redis and --s3")
	if help, err := parseFlags(fs, args); help || err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usagef("coordinator takes no arguments, got %q", fs.Args())
	}
	if o.redis == "" || o.s3 == "" {
		return usagef("coordinator: --redis and --s3 are required")
	}
	if u, err := url.Parse(o.s3); err != nil || u.Host == "" || u.Scheme != "http" && u.Scheme != "https" {
		return usagef("--s3 %q: want an http:// or https:// URL", o.s3)
	}
	if o.keepVersions < 0 {
		return usagef("--keep-versions %d: want 0 (keep every version) or more", o.keepVersions)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return runCoordinator(ctx, o, os.Stderr)
}

func runCoordinator(ctx context.Context, o coordinatorOptions, log io.Writer) error {
	ro, err := connect.RedisOptions(o.redis)
	if err != nil {
		return usageError{fmt.Errorf("--redis: %w", err)}
	}
	ro.PoolSize = max(2*o.workers, 16)
	rdb := redis.NewUniversalClient(ro)
	defer rdb.Close()
	if err := rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("ping redis %s: %w", connect.Redact(o.redis), err)
	}
	cfg, err := connect.AWSConfig(ctx, o.imds)
	if err != nil {
		return err
	}
	// Without credentials every event would fail to sign: say so at start.
	if err := connect.CheckCredentials(ctx, &cfg); err != nil {
		return usageError{fmt.Errorf("coordinator: --s3 %s: %w", o.s3, err)}
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 256
	store := env.NewS3Client(o.s3, cfg.Region, cfg.Credentials, &http.Client{Transport: tr, Timeout: 5 * time.Minute})
	if o.stream == "" {
		o.stream = o.keyPrefix + "events"
	}
	q, err := coordinator.NewQueue(rdb, coordinator.QueueConfig{Stream: o.stream, Group: o.group, MinIdle: o.minIdle,
		MaxDeliveries: int64(o.maxDeliveries), Feedback: o.feedback})
	if err != nil {
		return usageError{err}
	}
	coord, err := coordinator.New(coordinator.Config{Bucket: o.bucket, Strategy: coordinator.Strategy(o.strategy), Prefix: o.keyPrefix,
		ObjectPrefix: o.objectPrefix, LockTTL: o.lockTTL, ResultTTL: o.resultTTL, KeepVersions: o.keepVersions, Now: time.Now,
		Observer: q.Observer()}, store, rdb)
	if err != nil {
		return usageError{err}
	}
	// Join the group before the first read: a run with --external waits
	// for a consumer before it starts the load (and miniredis, unlike
	// Redis, creates a consumer only when an entry is delivered).
	if err := q.Ensure(ctx); err != nil {
		return err
	}
	if err := rdb.XGroupCreateConsumer(ctx, o.stream, q.Config().Group, o.consumer).Err(); err != nil {
		return fmt.Errorf("join consumer group %s of %s: %w", q.Config().Group, o.stream, err)
	}
	fmt.Fprintf(log, "coordinator %s: events from %s (group %s), %d workers, bucket %s at %s\n",
		o.consumer, o.stream, o.group, o.workers, o.bucket, o.s3)
	var handled, failed atomic.Int64
	var firstErr atomic.Pointer[string]
	err = q.Consume(ctx, o.consumer, o.workers, func(ctx context.Context, ev events.S3Event) error {
		err := coord.HandleEvent(ctx, ev)
		if err != nil {
			failed.Add(1)
			// The first failure is printed at once and again at the end:
			// a process failing every event must say why.
			if msg := err.Error(); firstErr.CompareAndSwap(nil, &msg) {
				fmt.Fprintf(log, "coordinator %s: first failed event: %s\n", o.consumer, msg)
			}
			return err
		}
		handled.Add(1)
		if o.feedback != "" {
			// The consumer that decided may have died between making the
			// decision durable and reporting it: report what Redis holds,
			// for the harness to apply if it never heard of it.
			for _, r := range ev.Records {
				if d, ok, rerr := coord.Recorded(ctx, r); rerr == nil && ok {
					q.Recovered(ctx, d)
				}
			}
		}
		return nil
	})
	if errors.Is(err, coordinator.ErrQueueGone) {
		fmt.Fprintf(log, "coordinator %s: %v; stopping\n", o.consumer, err)
		err = nil
	}
	why := ""
	if e := firstErr.Load(); e != nil {
		why = "; first error: " + *e
	}
	fmt.Fprintf(log, "coordinator %s: stopped after %d events (%d attempts failed%s)\n", o.consumer, handled.Load(), failed.Load(), why)
	return err
}
