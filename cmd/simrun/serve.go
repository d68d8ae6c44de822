package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/stormsim/stormsim/coordinator"
	"github.com/stormsim/stormsim/sim/env"
)

type serveOptions struct {
	s3Addr, apiAddr string
	bucket          string
	strategy        string
	users           string
	secret          string
	concurrency     int
}

// serveCmd runs the embedded stack as a local service until interrupted.
func serveCmd(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	var o serveOptions
	fs.StringVar(&o.s3Addr, "s3-addr", "127.0.0.1:9000", "listen address of the fake S3 endpoint (loopback unless a host is named)")
	fs.StringVar(&o.apiAddr, "api-addr", "127.0.0.1:8080", "listen address of the result API and event stream (loopback unless a host is named)")
	fs.StringVar(&o.bucket, "bucket", "stormsim", "bucket to create")
	fs.StringVar(&o.strategy, "strategy", string(coordinator.StrategyRedisLock), "coordinator strategy: redis-lock or s3-conditional")
	fs.StringVar(&o.users, "users", "alice,bob", "comma-separated users whose bearer tokens are printed")
	fs.StringVar(&o.secret, "secret", "", "token secret, so tokens stay valid across restarts (default random)")
	fs.IntVar(&o.concurrency, "concurrency", 16, "handler workers")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: simrun serve [flags]\n\nThe embedded stack as a local service: fake S3, coordinator, result API, pushes as Server-Sent Events.\n\nflags:")
		fs.PrintDefaults()
	}
	if help, err := parseFlags(fs, args); help || err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usagef("serve takes no arguments, got %q", fs.Args())
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return runServe(ctx, o, os.Stdout, nil)
}

// runServe starts the service, prints how to use it, and blocks until ctx
// ends; ready (tests) sees the service once it is up.
func runServe(ctx context.Context, o serveOptions, out io.Writer, ready func(*env.Service)) error {
	var users []string
	for _, u := range strings.Split(o.users, ",") {
		if u = strings.TrimSpace(u); u == "" {
			continue
		}
		if !coordinator.ValidName(u) {
			return usagef("--users: %q is not a valid user name ([A-Za-z0-9._-], 1..128)", u)
		}
		users = append(users, u)
	}
	secret := []byte(o.secret)
	if len(secret) == 0 {
		secret = make([]byte, 32)
		_, _ = rand.Read(secret)
	}
	svc, err := env.StartService(ctx, env.ServiceOptions{S3Addr: o.s3Addr, APIAddr: o.apiAddr, Bucket: o.bucket,
		Strategy: coordinator.Strategy(o.strategy), Concurrency: o.concurrency, Secret: secret})
	if err != nil {
		if errors.Is(err, coordinator.ErrConfig) {
			return usageError{err}
		}
		return err
	}
	defer svc.Close()
	printService(out, svc, users)
	if ready != nil {
		ready(svc)
	}
	<-ctx.Done()
	st := svc.Stats()
	fmt.Fprintf(out, "\nstopped: %d notifications, %d handler invocations, %d failed, %d pending\n",
		st.Emitted, st.Invocations, st.Failures, svc.Pending())
	return nil
}

func printService(w io.Writer, svc *env.Service, users []string) {
	fmt.Fprintf(w, `stormsim serve: the embedded stack as a local service (Ctrl-C stops it; data is in memory)

  S3 endpoint   %s   (path-style, any credentials, region us-east-1)
  bucket        %s
  result API    GET %s/v1/uploads/{uploadID}
  pushes        GET %s/v1/events   (Server-Sent Events, "event: result")
  both need     Authorization: Bearer TOKEN

tokens:
`, svc.S3URL, svc.Bucket, svc.APIURL, svc.APIURL)
	for _, u := range users {
		fmt.Fprintf(w, "  %-12s %s\n", u, svc.Tokens.Token(u))
	}
	if len(users) == 0 {
		return
	}
	u := users[0]
	fmt.Fprintf(w, `
upload (the staging protocol; see the coordinator package documentation):
  s3cmd --host=%[1]s --host-bucket=%[1]s --no-ssl --access_key=x --secret_key=x \
    put notes.txt s3://%[2]s/staging/%[3]s/UPLOAD_ID \
    --add-header=x-amz-meta-user:%[3]s --add-header=x-amz-meta-path:notes.txt \
    --add-header=x-amz-meta-base:0 --add-header=x-amz-meta-device:laptop \
    --add-header=x-amz-meta-sha256:$(sha256sum notes.txt | cut -d' ' -f1)
  curl -H 'Authorization: Bearer %[4]s' %[5]s/v1/uploads/UPLOAD_ID
  curl -N -H 'Authorization: Bearer %[4]s' %[5]s/v1/events
`, strings.TrimPrefix(svc.S3URL, "http://"), svc.Bucket, u, svc.Tokens.Token(u), svc.APIURL)
}
