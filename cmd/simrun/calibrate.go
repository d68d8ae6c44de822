package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/redis/go-redis/v9"

	"github.com/stormsim/stormsim/internal/connect"
	"github.com/stormsim/stormsim/model"
)

// calibrateCmd is `simrun calibrate [--redis URL] [--s3 URL] --out FILE`:
// measure the coordinator's calls on the given backends (embedded fakes
// for those not given) and write a profile for simrun plan.
func calibrateCmd(args []string) error {
	fs := flag.NewFlagSet("simrun calibrate", flag.ContinueOnError)
	redisURL := fs.String("redis", "", "Redis to measure (redis://host:port); default the embedded miniredis")
	s3URL := fs.String("s3", "", "S3 endpoint to measure (http://host:port, credentials from the AWS environment); default the embedded gofakes3")
	bucket := fs.String("bucket", "stormsim", "bucket on --s3 (must exist)")
	out := fs.String("out", "", "profile file to write (e.g. profiles/NAME.yaml); required")
	name := fs.String("name", "", "profile name (default: embedded, or what was given)")
	n := fs.Int("n", 200, "uploads timed per outcome")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: simrun calibrate [--redis URL] [--s3 URL] --out profiles/NAME.yaml\n\nflags:")
		fs.PrintDefaults()
	}
	if help, err := parseFlags(fs, args); help || err != nil {
		return err
	}
	if *out == "" || fs.NArg() != 0 || *n < 10 {
		fs.Usage()
		return usagef("want --out FILE, no arguments and --n >= 10")
	}
	// The folder is checked before minutes of measuring.
	if err := writable(filepath.Dir(*out)); err != nil {
		return usagef("--out %s: %w", *out, err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	b, err := model.NewEmbedded()
	if err != nil {
		return err
	}
	defer b.Close()
	if *redisURL != "" {
		ro, err := connect.RedisOptions(*redisURL)
		if err != nil {
			return usagef("--redis: %w", err)
		}
		rdb := redis.NewUniversalClient(ro)
		defer rdb.Close()
		b.Redis, b.Name = rdb, "redis-server"
	}
	if *s3URL != "" {
		cfg, err := connect.AWSConfig(ctx, false)
		if err != nil {
			return usagef("--s3: %w", err)
		}
		b.S3 = s3.NewFromConfig(cfg, func(o *s3.Options) {
			o.BaseEndpoint, o.UsePathStyle = aws.String(*s3URL), true
			o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
			o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
		})
		b.HTTP = &http.Client{Timeout: time.Minute}
		b.Bucket, b.Name = *bucket, "s3-endpoint"
	}
	if *name != "" {
		b.Name = *name
	}
	p, err := model.Calibrate(ctx, b, *n, time.Now())
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "# Written by: simrun calibrate %s\n", joinArgs(args))
	if err := p.WriteYAML(&buf); err != nil {
		return err
	}
	// Read back as plan will read it, so a profile plan cannot load is
	// never written.
	if _, err := model.ParseProfile(*out, buf.Bytes()); err != nil {
		return usagef("calibrate: the profile does not read back: %w", err)
	}
	if err := os.WriteFile(*out, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write profile: %w", err)
	}
	fmt.Printf("wrote %s (%d ops)\n", *out, len(p.Ops))
	return nil
}

func joinArgs(args []string) string {
	var b bytes.Buffer
	for i, a := range args {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(a)
	}
	return b.String()
}
