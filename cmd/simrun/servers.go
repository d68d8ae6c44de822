package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/stormsim/stormsim/internal/connect"
	"github.com/stormsim/stormsim/sim"
	"github.com/stormsim/stormsim/sim/delivery"
	"github.com/stormsim/stormsim/sim/env"
)

// serverOptions are the flags that point a run at real servers.
type serverOptions struct {
	redis   string
	s3      string
	bucket  string
	webhook string
	runID   string
	keep    bool
	// external: events go to `simrun coordinator` processes.
	external bool
	// resultAPI: a deployed result API and coordinator (resultapi.go).
	resultAPI string
	s3Wait    time.Duration
	// consumerWait bounds how long --external waits for a coordinator
	// process to join the consumer group before the load starts.
	consumerWait time.Duration
	imds         bool
}

func (s *serverOptions) register(fs *flag.FlagSet) {
	fs.StringVar(&s.redis, "redis", "", "real Redis: redis://HOST:PORT[/DB], rediss://... for TLS, or HOST:PORT,HOST:PORT,... for a Redis Cluster (default: embedded miniredis)")
	fs.StringVar(&s.s3, "s3", "", "real S3-compatible endpoint, e.g. http://127.0.0.1:7070; credentials and region from the AWS configuration chain (default: embedded gofakes3)")
	fs.StringVar(&s.bucket, "bucket", "stormsim", "bucket on the --s3 server (created, and removed afterwards, if missing)")
	fs.StringVar(&s.webhook, "webhook", "", "listen address of the webhook that receives the --s3 server's event notifications (default 127.0.0.1:0; give the server http://ADDR/events)")
	fs.DurationVar(&s.s3Wait, "s3-wait", 0, "how long to wait for the --s3 server to answer (the webhook already listens meanwhile)")
	fs.DurationVar(&s.consumerWait, "consumer-wait", 2*time.Minute, "with --external: how long to wait for a `simrun coordinator` process to join before the load starts (0: do not wait)")
	fs.BoolVar(&s.imds, "imds", false, "let the AWS SDK ask the EC2 instance metadata service (169.254.169.254) for credentials; off, a run reaches only the endpoints it was given")
	fs.StringVar(&s.runID, "run-id", "", "name of the run's key and object prefixes on real servers (default run-TIME-RANDOM)")
	fs.BoolVar(&s.keep, "keep", false, "keep the run's keys and objects on real servers instead of removing them")
	fs.StringVar(&s.resultAPI, "result-api", "", resultAPIUsage)
	fs.BoolVar(&s.external, "external", false, "hand events to `simrun coordinator` processes (the command line to start them is printed) instead of in-process handlers")
}

func (s *serverOptions) enabled() bool {
	return s.redis != "" || s.s3 != "" || s.external || s.resultAPI != ""
}

// openServers connects to the real servers and points opt at them, under
// prefixes of the run's own. The returned func removes the run's data
// (unless --keep) and closes the connections. log gets progress (silenced
// by --quiet); notice gets what the user has to act on, the coordinator
// command of --external, which --quiet must not hide.
func openServers(ctx context.Context, s *serverOptions, opt *sim.Options, log, notice io.Writer) (func(), error) {
	if s.redis != "" {
		if _, err := env.RedisOptions(s.redis); err != nil {
			return nil, usageError{fmt.Errorf("--redis: %w", err)}
		}
	}
	if u, err := url.Parse(s.s3); s.s3 != "" && (err != nil || u.Host == "" || u.Scheme != "http" && u.Scheme != "https") {
		return nil, usagef("--s3 %q: want an http:// or https:// URL", redactURL(s.s3))
	}
	if k := opt.Scenario.Storage.KeepVersions; s.s3 != "" && k > 0 {
		return nil, usagef("storage.keep_versions %d: bounds the embedded S3 only; with --s3, set a lifecycle rule on the bucket", k)
	}
	if s.resultAPI != "" {
		api, err := s.remoteAPI(os.Getenv)
		if err != nil {
			return nil, err
		}
		if len(opt.Scenario.Faults) > 0 {
			return nil, usagef("--result-api: the scenario's faults act on the run's own coordinator; a deployed one gets none")
		}
		opt.ResultAPI = api
	}
	id := s.runID
	if id == "" {
		var b [3]byte
		_, _ = rand.Read(b[:])
		id = "run-" + time.Now().UTC().Format("20060102-150405") + "-" + hex.EncodeToString(b[:])
	}
	kp, op := env.RunPrefixes(id)
	remote, err := env.NewRemote(ctx, env.RemoteOptions{RedisURL: s.redis, S3URL: s.s3, Bucket: s.bucket,
		ObjectPrefix: op, Webhook: s.webhook, NoWebhook: s.resultAPI != "", WaitS3: s.s3Wait, AllowIMDS: s.imds, Log: log})
	if errors.Is(err, connect.ErrNoCredentials) {
		return nil, usageError{err}
	}
	if err != nil {
		return nil, err
	}
	opt.Env, opt.KeyPrefix = remote.Env, kp
	if s.s3 != "" {
		opt.ObjectPrefix = op
	}
	fmt.Fprintf(log, "servers: run %s: Redis keys %s*, objects s3://%s/%s*\n", id, kp, remote.Bucket, opt.ObjectPrefix)
	if opt.ResultAPI != nil {
		fmt.Fprintf(log, "servers: the deployment decides (give it key prefix %s, object prefix %s); devices poll %s\n", kp, opt.ObjectPrefix, opt.ResultAPI.URL)
	}
	if s.external {
		opt.External = &delivery.External{Stream: kp + "events", Feedback: kp + "feedback", ConsumerWait: s.consumerWait, Log: log}
		redisURL := s.redis
		if redisURL == "" {
			redisURL = "redis://" + remote.MR.Addr()
		}
		sc := opt.Scenario.Coordinator
		cmdline := fmt.Sprintf("simrun coordinator --redis %s --s3 %s --bucket %s --key-prefix %s --object-prefix '%s' --strategy %s --lock-ttl %v --result-ttl %v --feedback %s",
			redisURL, remote.S3URL, remote.Bucket, kp, opt.ObjectPrefix, sc.Strategy, sc.LockTTL, sc.ResultTTL, opt.External.Feedback)
		if k := opt.Scenario.Storage.KeepVersions; k > 0 {
			cmdline += fmt.Sprintf(" --keep-versions %d", k) // the embedded S3's lifecycle rule, metered by the processes
		}
		if s.s3 == "" {
			// The embedded fake S3 takes any credentials, but the processes
			// still need some: without, every event fails to sign.
			fmt.Fprintf(notice, "servers: events go to coordinator processes; start them with\n  AWS_ACCESS_KEY_ID=stormsim AWS_SECRET_ACCESS_KEY=stormsim %s\n", cmdline)
		} else {
			fmt.Fprintf(notice, "servers: events go to coordinator processes; start them (with the same AWS credentials as this run) with\n  %s\n", cmdline)
		}
	}
	return func() {
		defer remote.Close()
		if remote.Webhook != nil {
			st := remote.Webhook.Stats()
			fmt.Fprintf(log, "servers: webhook got %d requests, %d records, passed on %d, ignored %d, bad %d\n",
				st.Requests.Load(), st.Records.Load(), st.Emitted.Load(), st.Ignored.Load(), st.Bad.Load())
		}
		if s.keep {
			fmt.Fprintf(log, "servers: kept Redis keys %s* and objects s3://%s/%s*\n", kp, remote.Bucket, opt.ObjectPrefix)
			return
		}
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Minute)
		defer cancel()
		c, err := remote.Cleanup(cctx, kp, opt.ObjectPrefix)
		if err != nil {
			fmt.Fprintf(log, "servers: cleanup: %v\n", err)
		}
		fmt.Fprintf(log, "servers: removed %d keys, %d objects, %d multipart uploads\n", c.Keys, c.Objects, c.Uploads)
	}, nil
}

// redactedFlags are the server flags whose values may carry credentials,
// with how to show them (the rerun line).
var redactedFlags = map[string]func(string) string{"redis": redactURL, "s3": redactURL}

// redactURL replaces the password of each URL in s (comma-separated, a
// Redis Cluster) by REDACTED: redis://user:pass@host becomes
// redis://user:REDACTED@host. A bare user:pass@host:port (--redis accepts
// it) is redacted too, and an address that does not parse but holds an @
// loses all its user information.
func redactURL(s string) string {
	parts := strings.Split(s, ",")
	for i, p := range parts {
		parts[i] = redactOne(p)
	}
	return strings.Join(parts, ",")
}

func redactOne(p string) string {
	at := strings.LastIndex(p, "@")
	if at < 0 {
		return p
	}
	bare := !strings.Contains(p, "://")
	full := p
	if bare {
		full = "redis://" + strings.TrimSpace(p)
	}
	u, err := url.Parse(full)
	if err != nil {
		scheme := ""
		if i := strings.Index(p, "://"); i >= 0 && i < at {
			scheme = p[:i+3]
		}
		return scheme + "REDACTED" + p[at:]
	}
	if u.User == nil {
		return p
	}
	if _, ok := u.User.Password(); !ok {
		return p
	}
	u.User = url.UserPassword(u.User.Username(), "REDACTED")
	if bare {
		return strings.TrimPrefix(u.String(), "redis://")
	}
	return u.String()
}
