package env

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/redis/go-redis/v9"

	"github.com/stormsim/stormsim/coordinator"
	"github.com/stormsim/stormsim/internal/connect"
	"github.com/stormsim/stormsim/internal/objstore"
)

// RemoteOptions name the servers a run uses instead of the embedded fakes.
// Either side may stay embedded: an empty RedisURL starts miniredis, an
// empty S3URL starts gofakes3 (with its notifying wrapper). With neither,
// the Env is the embedded stack with known addresses, for coordinator
// processes outside the run to share.
type RemoteOptions struct {
	// RedisURL is redis://[user:pass@]host:port[/db], rediss:// for TLS, or
	// several comma-separated addresses (each host:port or a URL) for a
	// Redis Cluster; "?cluster=true" makes a single seed a cluster too.
	RedisURL string
	// S3URL is an S3-compatible endpoint; credentials and region come from
	// the standard AWS configuration chain (environment, shared files),
	// without the EC2 instance metadata service unless AllowIMDS.
	S3URL string
	// AllowIMDS lets the AWS SDK ask the EC2 instance metadata service
	// (169.254.169.254) for credentials. Off by default: a run reaches
	// only the endpoints it was given.
	AllowIMDS bool
	Bucket    string
	// ObjectPrefix is the run's object prefix: the webhook passes on only
	// notifications for staging keys under it.
	ObjectPrefix string
	// Webhook is the listen address of the loopback webhook that receives
	// the storage server's notifications ("" = 127.0.0.1:0, a host-less
	// ":PORT" = loopback). The server must be told Remote.Webhook.URL.
	Webhook string
	// NoWebhook: the storage server notifies a deployed coordinator, not
	// the run; no webhook listens and OnStaged stays nil.
	NoWebhook bool
	// WaitS3 is how long to wait for the S3 endpoint to answer (it may
	// still be starting); 0 tries once.
	WaitS3 time.Duration
	// Log, when set, is told that the webhook listens and what the run
	// waits for, before it waits (the storage server may be started then).
	Log io.Writer
	// Pool sizes the Redis connection pool (default 256).
	Pool int
	// Now is the harness clock, for an embedded miniredis.
	Now func() time.Time
}

// Remote is an Env on real servers, with what it needs to clean up after a
// run.
type Remote struct {
	*Env
	// Webhook receives the storage server's notifications (nil when S3 is
	// embedded).
	Webhook *Webhook
	// CreatedBucket is true when NewRemote created the bucket; Cleanup
	// then removes it once empty.
	CreatedBucket bool
	remoteRedis   bool
	remoteS3      bool
	// s3Ops counts S3 requests by operation (see S3Ops): at the clients for
	// a real S3 endpoint, at the fake's handler for an embedded one.
	s3Ops opCounter
}

// S3Ops returns the S3 requests by operation (the names of
// OpCounts.S3) sent since NewRemote, bucket setup included, retries each
// counted. A run counts S3 requests itself only on the fake NewEmbedded
// serves; on a Remote, its Result.Ops.S3 stays empty and these are the
// counts. With an embedded S3 they include requests from coordinator
// processes outside the run; with a real endpoint, only this process's.
func (r *Remote) S3Ops() map[string]int64 { return r.s3Ops.snapshot() }

// ErrRemote is wrapped by errors setting up real servers.
var ErrRemote = errors.New("remote environment")

// NewRemote connects to the servers named in o. Events for a real S3
// endpoint come from its notifications through the webhook; the run
// registers its emitter through Env.OnStaged.
func NewRemote(ctx context.Context, o RemoteOptions) (_ *Remote, err error) {
	if o.Bucket == "" {
		o.Bucket = "stormsim"
	}
	if o.Pool == 0 {
		o.Pool = 256
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	e := &Env{Bucket: o.Bucket, stopTick: make(chan struct{})}
	r := &Remote{Env: e, remoteRedis: o.RedisURL != "", remoteS3: o.S3URL != ""}
	e.s3Count = &r.s3Ops
	defer func() {
		if err != nil {
			e.Close()
		}
	}()
	if err := r.connectRedis(ctx, o); err != nil {
		return nil, err
	}
	if o.S3URL != "" {
		err = r.connectS3(ctx, o)
	} else {
		err = r.embeddedS3(ctx)
	}
	if err != nil {
		return nil, err
	}
	return r, nil
}

func (r *Remote) connectRedis(ctx context.Context, o RemoteOptions) error {
	e := r.Env
	if o.RedisURL == "" {
		return startMiniredis(e, o.Now, o.Pool)
	}
	ro, err := RedisOptions(o.RedisURL)
	if err != nil {
		return err
	}
	ro.PoolSize, ro.MinIdleConns = o.Pool, 16
	ro.ReadTimeout, ro.WriteTimeout, ro.PoolTimeout = 10*time.Second, 10*time.Second, 30*time.Second
	e.Redis = redis.NewUniversalClient(ro)
	e.closers = append(e.closers, func() { _ = e.Redis.Close() })
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := e.Redis.Ping(pctx).Err(); err != nil {
		return fmt.Errorf("%w: ping redis %s: %v", ErrRemote, redactURL(o.RedisURL), err)
	}
	return nil
}

// RedisOptions parses a --redis value into go-redis's universal options
// (see RemoteOptions.RedisURL).
func RedisOptions(s string) (*redis.UniversalOptions, error) {
	o, err := connect.RedisOptions(s)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrRemote, err)
	}
	return o, nil
}

func redactURL(s string) string { return connect.Redact(s) }

func (r *Remote) connectS3(ctx context.Context, o RemoteOptions) error {
	e := r.Env
	u, err := url.Parse(o.S3URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%w: --s3 %q is not an http(s) URL", ErrRemote, redactURL(o.S3URL))
	}
	cfg, err := connect.AWSConfig(ctx, o.AllowIMDS)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrRemote, err)
	}
	// Before anything listens or waits: a missing credential is a clear
	// error at start, not a run whose every request fails.
	if err := connect.CheckCredentials(ctx, &cfg); err != nil {
		return fmt.Errorf("%w: --s3 %s: %w", ErrRemote, redactURL(o.S3URL), err)
	}
	region, creds := cfg.Region, cfg.Credentials
	e.S3URL = strings.TrimSuffix(o.S3URL, "/")
	// The harness does not see the server's side: every client counts the
	// requests it sends (the devices' client also carries the presigned
	// PUTs).
	counted := func() *http.Client { return countS3Client(newHTTPClient(), e.S3URL, &r.s3Ops) }
	e.HTTP = counted()
	e.S3 = NewS3Client(e.S3URL, region, creds, counted())
	e.DeviceS3 = NewS3Client(e.S3URL, region, creds, e.HTTP)
	e.Presign = s3.NewPresignClient(e.DeviceS3)
	e.APIS3 = NewS3Client(e.S3URL, region, creds, counted())

	wait := "tries once to reach"
	if o.WaitS3 > 0 {
		wait = fmt.Sprintf("waits up to %v for", o.WaitS3)
	}
	if o.NoWebhook {
		if o.Log != nil {
			fmt.Fprintf(o.Log, "servers: the S3 server's notifications go to the deployed coordinator, not this run\n"+
				"servers: the run %s the S3 server at %s (bucket %s)\n", wait, redactURL(e.S3URL), e.Bucket)
		}
	} else {
		// The webhook listens before anything touches the server: a storage
		// server may check it (versitygw posts a test event at start).
		wh, err := NewWebhook(o.Webhook, e.Bucket, o.ObjectPrefix+coordinator.StagingPrefix)
		if err != nil {
			return err
		}
		r.Webhook = wh
		e.closers = append(e.closers, wh.Close)
		e.OnStaged = wh.SetEmit
		if o.Log != nil {
			fmt.Fprintf(o.Log, "servers: webhook listening at %s (give the S3 server this URL; start it now)\n"+
				"servers: the run %s the S3 server at %s (bucket %s)\n", wh.URL, wait, redactURL(e.S3URL), e.Bucket)
		}
	}

	created, err := ensureBucket(ctx, e.S3, e.Bucket, o.WaitS3)
	if err != nil {
		return fmt.Errorf("%w: bucket %s at %s: %v", ErrRemote, e.Bucket, redactURL(e.S3URL), err)
	}
	r.CreatedBucket = created
	return nil
}

// ensureBucket creates bucket unless it exists, retrying while the server
// does not answer yet.
func ensureBucket(ctx context.Context, c *s3.Client, bucket string, wait time.Duration) (created bool, err error) {
	deadline := time.Now().Add(wait)
	for {
		_, err = c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &bucket})
		if err == nil {
			return false, nil
		}
		if isNotFound(err) {
			_, err = c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &bucket})
			var owned *types.BucketAlreadyOwnedByYou
			if errors.As(err, &owned) {
				return false, nil
			}
			return err == nil, err
		}
		var ne net.Error
		var oe *net.OpError
		if !(errors.As(err, &oe) || errors.As(err, &ne)) || time.Now().After(deadline) {
			return false, err
		}
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func isNotFound(err error) bool {
	var nf *types.NotFound
	var nb *types.NoSuchBucket
	if errors.As(err, &nf) || errors.As(err, &nb) {
		return true
	}
	var re interface{ HTTPStatusCode() int }
	return errors.As(err, &re) && re.HTTPStatusCode() == http.StatusNotFound
}

// embeddedS3 starts gofakes3 beside a real Redis; its notifications go to
// the emitter the run registers.
func (r *Remote) embeddedS3(ctx context.Context) error {
	var emit atomic.Pointer[func(string, int64)]
	r.OnStaged = func(f func(string, int64)) { emit.Store(&f) }
	// Counted at the fake's handler, as on NewEmbedded: that also sees the
	// requests of coordinator processes outside the run (--external).
	return serveFakeS3(ctx, r.Env, "", func(key string, size int64) {
		if f := emit.Load(); f != nil {
			(*f)(key, size)
		}
	}, &r.s3Ops)
}

// startFakeS3 serves gofakes3 (objstore, notifying) on addr ("" = a free
// loopback port), fills e's S3 fields and creates e.Bucket.
func startFakeS3(ctx context.Context, e *Env, addr string, notify func(key string, size int64)) error {
	return serveFakeS3(ctx, e, addr, notify, nil)
}

// serveFakeS3 is startFakeS3 counting the requests it serves into count
// (nil: uncounted).
func serveFakeS3(ctx context.Context, e *Env, addr string, notify func(key string, size int64), count *opCounter) error {
	e.Backend = &notifyingBackend{Backend: objstore.New(objstore.Options{}), notify: notify}
	ln, err := coordinator.Listen(addr)
	if err != nil {
		return fmt.Errorf("listen for fake S3: %w", err)
	}
	h := objstore.Server(e.Backend)
	if count != nil {
		h = countS3(h, count)
	}
	srv := coordinator.NewServer(h)
	srv.ReadTimeout, srv.WriteTimeout = 5*time.Minute, 5*time.Minute
	e.serve(srv, ln)
	e.S3URL = "http://" + ln.Addr().String()
	creds := credentials.NewStaticCredentialsProvider("stormsim", "stormsim", "")
	e.HTTP = newHTTPClient()
	e.S3 = NewS3Client(e.S3URL, "us-east-1", creds, newHTTPClient())
	e.DeviceS3 = NewS3Client(e.S3URL, "us-east-1", creds, e.HTTP)
	e.Presign = s3.NewPresignClient(e.DeviceS3)
	e.APIS3 = NewS3Client(e.S3URL, "us-east-1", creds, newHTTPClient())
	if _, err := e.S3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &e.Bucket}); err != nil {
		return fmt.Errorf("create bucket: %w", err)
	}
	return nil
}

// startMiniredis starts miniredis on a loopback port with its clock driven
// by now, and fills e.MR and e.Redis.
func startMiniredis(e *Env, now func() time.Time, pool int) error {
	mr := miniredis.NewMiniRedis()
	if err := mr.StartAddr("127.0.0.1:0"); err != nil {
		return fmt.Errorf("start miniredis: %w", err)
	}
	e.MR = mr
	e.closers = append(e.closers, mr.Close)
	go e.driveRedisClock(now)
	e.Redis = redis.NewClient(&redis.Options{Addr: mr.Addr(), PoolSize: pool, MinIdleConns: 16,
		ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second, PoolTimeout: 30 * time.Second})
	e.closers = append(e.closers, func() { _ = e.Redis.Close() })
	return nil
}
