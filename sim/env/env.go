package env

import (
	"context"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/redis/go-redis/v9"

	"github.com/stormsim/stormsim/coordinator"
	"github.com/stormsim/stormsim/internal/inproc"
	"github.com/stormsim/stormsim/internal/memredis"
	"github.com/stormsim/stormsim/internal/objstore"
	"github.com/stormsim/stormsim/internal/s3endpoint"
	"github.com/stormsim/stormsim/internal/syncx"
)

// Env is the environment a run uses: S3 and Redis endpoints with real
// clients. NewEmbedded starts gofakes3 and miniredis on loopback ports.
type Env struct {
	Bucket   string
	S3       *s3.Client // the coordinator's client
	DeviceS3 *s3.Client // the devices' client (multipart uploads), on the devices' pool
	APIS3    *s3.Client // the result API's client, on its own pool
	Presign  *s3.PresignClient
	Redis    redis.UniversalClient
	S3URL    string // endpoint base URL, e.g. http://127.0.0.1:PORT
	HTTP     *http.Client
	MR       *miniredis.Miniredis // nil for real servers
	Backend  *notifyingBackend    // nil for real servers
	// OnStaged, when set, is how a non-embedded environment delivers S3
	// notifications: the run passes the function that queues an event.
	OnStaged func(emit func(key string, size int64))
	// maxClockStep is the longest step the embedded Redis clock was
	// advanced by (nanoseconds). FastForward charges a step to every key,
	// including keys set during it, so a TTL can run out up to one step
	// early.
	maxClockStep atomic.Int64
	// s3Count is where a Remote counts S3 requests (nil when the run
	// counts them at its own fake).
	s3Count  *opCounter
	stopTick chan struct{}
	closers  []func()
	once     sync.Once
	// In-process transports of an embedded environment (inprocess.go).
	inproc    *inproc.Transport
	redisMu   sync.Mutex // guards redisDown and replacing MR's server
	redisDown bool
	luaCache  *memredis.Cache // pooled, precompiled scripts in the embedded Redis
}

// EmbeddedOptions configure NewEmbedded.
type EmbeddedOptions struct {
	Bucket string
	// Notify receives every completed write under the staging prefix, the
	// way S3 emits ObjectCreated notifications.
	Notify func(key string, size int64)
	// Now is the harness clock; the miniredis clock follows it so that TTLs
	// (locks) really expire.
	Now func() time.Time
	// Wrap lets the harness put fault injection in front of the S3 endpoint.
	Wrap func(http.Handler) http.Handler
	// Pool sizes the Redis connection pool (default 256).
	Pool int
}

// NewEmbedded starts gofakes3 (objstore) and miniredis on loopback ports; the
// Env's own clients reach them in process (inprocess.go).
func NewEmbedded(o EmbeddedOptions) (*Env, error) {
	if o.Bucket == "" {
		o.Bucket = "stormsim"
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Pool == 0 {
		o.Pool = 256
	}
	e := &Env{Bucket: o.Bucket, stopTick: make(chan struct{})}
	mr := miniredis.NewMiniRedis()
	if err := mr.StartAddr("127.0.0.1:0"); err != nil {
		return nil, fmt.Errorf("start miniredis: %w", err)
	}
	e.MR = mr
	// Closed under redisMu: go-redis may still be dialing in the
	// background (its idle-connection filler) while the Env closes.
	e.closers = append(e.closers, e.StopRedis)
	cache, err := memredis.Install(mr)
	if err != nil {
		mr.Close()
		return nil, err
	}
	e.luaCache = cache
	go e.driveRedisClock(o.Now)

	e.Backend = &notifyingBackend{Backend: objstore.New(objstore.Options{}), notify: o.Notify}
	h := objstore.Server(e.Backend)
	if o.Wrap != nil {
		h = o.Wrap(h)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		e.Close()
		return nil, fmt.Errorf("listen for fake S3: %w", err)
	}
	srv := coordinator.NewServer(h)
	srv.ReadTimeout, srv.WriteTimeout = 5*time.Minute, 5*time.Minute
	srv.ErrorLog = log.New(io.Discard, "", 0) // gofakes3 double-writes headers on cancelled requests
	e.serve(srv, ln)
	e.S3URL = "http://" + ln.Addr().String()
	e.inproc = &inproc.Transport{Next: newHTTPClient().Transport}
	// Requests wait inside the fake in the caller's goroutine, and only
	// object GETs, whose replies can be large, stream from one of their own.
	e.inproc.Route(ln.Addr().String(), inproc.Route{Handler: h, Inline: true, Stream: isGet})
	e.closers = append(e.closers, e.inproc.Close)

	// Devices and the coordinator are different machines in production:
	// each gets its own connection pool, so device traffic cannot starve
	// the handler of connections.
	// Each pool tags its requests (ClientHeader) so that fault injection in
	// front of the fake S3 can tell the system under test from the devices.
	e.HTTP = e.inprocHTTP(ClientDevice)
	e.S3 = NewS3Client(e.S3URL, "us-east-1", credentials.NewStaticCredentialsProvider("stormsim", "stormsim", ""), e.inprocHTTP(ClientCoordinator))
	e.DeviceS3 = NewS3Client(e.S3URL, "us-east-1", credentials.NewStaticCredentialsProvider("stormsim", "stormsim", ""), e.HTTP)
	e.Presign = s3.NewPresignClient(e.DeviceS3)
	e.APIS3 = NewS3Client(e.S3URL, "us-east-1", credentials.NewStaticCredentialsProvider("stormsim", "stormsim", ""), e.inprocHTTP(ClientAPI))
	if _, err := e.S3.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: &e.Bucket}); err != nil {
		e.Close()
		return nil, fmt.Errorf("create bucket: %w", err)
	}
	ro := embeddedRedisOptions(mr.Addr(), o.Pool)
	ro.Dialer = e.dialRedis
	e.Redis = redis.NewClient(ro)
	e.closers = append(e.closers, func() { _ = e.Redis.Close() })
	return e, nil
}

// driveRedisClock advances miniredis with the harness clock: miniredis
// expires keys only when told that time has passed. FastForward visits
// every key with a TTL under miniredis's global lock, so it runs only a
// few times a second: TTLs expire up to 200ms late, well inside any lock
// TTL worth testing.
func (e *Env) driveRedisClock(now func() time.Time) {
	// FastForward's cost grows with the keys with a TTL a long run holds
	// (results, commit records; upstream miniredis sorted every key on
	// each call, third_party/miniredis/STORMSIM.md). Space the calls so
	// they take at most about 5% of the time: every 200ms while cheap,
	// up to every 5s with very many keys (TTLs then expire that much
	// late, still inside a 10s lock TTL).
	wait := 200 * time.Millisecond
	t := time.NewTimer(wait)
	defer t.Stop()
	last := now()
	for {
		select {
		case <-e.stopTick:
			return
		case <-t.C:
			n := now()
			if d := n.Sub(last); d > 0 {
				began := time.Now()
				e.MR.SetTime(n)
				e.MR.FastForward(d)
				if int64(d) > e.maxClockStep.Load() {
					e.maxClockStep.Store(int64(d))
				}
				last = n
				wait = min(max(200*time.Millisecond, 20*time.Since(began)), 5*time.Second)
			}
			t.Reset(wait)
		}
	}
}

// serve serves srv on ln until Close, which waits for it.
func (e *Env) serve(srv *http.Server, ln net.Listener) {
	s := syncx.Serve(srv, ln)
	e.closers = append(e.closers, func() {
		if err := s.Close(); err != nil {
			log.Printf("env: %v", err)
		}
	})
}

// Close stops everything the Env started; it is idempotent.
func (e *Env) Close() {
	e.once.Do(func() {
		close(e.stopTick)
		for i := len(e.closers) - 1; i >= 0; i-- {
			e.closers[i]()
		}
	})
}

// newHTTPClient is the transport shared by the SDK and the devices: a large
// idle pool, since thousands of callers hit one host.
func newHTTPClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = 2048
	tr.MaxIdleConnsPerHost = 1024
	tr.MaxConnsPerHost = 1024
	tr.IdleConnTimeout = 90 * time.Second
	return &http.Client{Transport: tr, Timeout: 5 * time.Minute}
}

// NewS3Client builds the real SDK client for an S3-compatible endpoint:
// path-style addressing and checksums only "when required" (gofakes3 stores
// aws-chunked framing as content otherwise).
//
// Retries: the SDK's standard retryer, three attempts, with two changes.
// Its client-side retry quota is off (ratelimit.None): the quota is one
// token bucket per client (500 tokens, 5 per throttled retry), and under a
// window of injected 503s at thousands of requests per second it empties
// within a second, after which the SDK fails calls without retrying at all,
// so the run would measure the quota, not S3. And the backoff is short
// (full jitter up to 25ms·2^n, at most 500ms; the SDK's default waits up to
// 1s after a throttle): a handler invocation is short-lived and the
// coordinator retries again on top with coordinator.RetryStore.
func NewS3Client(endpoint, region string, creds aws.CredentialsProvider, hc *http.Client) *s3.Client {
	return s3.New(s3.Options{
		Region:                     region,
		Credentials:                creds,
		BaseEndpoint:               aws.String(endpoint),
		UsePathStyle:               true,
		EndpointResolverV2:         s3endpoint.Cached(s3.NewDefaultEndpointResolverV2()),
		HTTPClient:                 hc,
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
		Retryer: retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = 3
			o.RateLimiter = ratelimit.None
			o.Backoff = jitterBackoff{base: 25 * time.Millisecond, max: 500 * time.Millisecond}
		}),
	})
}

// jitterBackoff is full-jitter exponential backoff: a wait in
// [0, min(max, base*2^(attempt-1))).
type jitterBackoff struct{ base, max time.Duration }

func (b jitterBackoff) BackoffDelay(attempt int, _ error) (time.Duration, error) {
	bound := min(b.max, b.base<<min(max(attempt-1, 0), 20))
	return time.Duration(rand.Int64N(int64(bound) + 1)), nil
}

// embeddedRedisOptions are the go-redis settings of the embedded Redis client.
// go-redis retries a command that failed on a broken or refused connection
// (MaxRetries times, backoff doubling from MinRetryBackoff to
// MaxRetryBackoff, with jitter); these values wait up to 3.5s in all, about
// 1.8s on average, so a short outage (miniredis closed, then restarted on
// the same address) costs latency rather than failed invocations. Longer outages fail the
// invocation, and Lambda-style retries and the reconciler take over.
// Retried commands may run twice when the connection broke after the
// server ran them; every coordinator script is safe to repeat.
func embeddedRedisOptions(addr string, pool int) *redis.Options {
	return &redis.Options{Addr: addr, PoolSize: pool, MinIdleConns: 16,
		ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second, PoolTimeout: 30 * time.Second,
		DialTimeout: 2 * time.Second, MaxRetries: redisMaxRetries, MinRetryBackoff: redisMinRetryBackoff, MaxRetryBackoff: redisMaxRetryBackoff}
}

// The go-redis retry settings (see embeddedRedisOptions).
const (
	redisMaxRetries      = 8
	redisMinRetryBackoff = 25 * time.Millisecond
	redisMaxRetryBackoff = time.Second
)

// Client tags: the value of ClientHeader on requests from each pool (set
// on the fake's copy of each request, inproc.Transport.WithHeader). The
// header is not an x-amz-* one, so signatures (presigned URLs included)
// stay valid.
const (
	ClientHeader      = "Stormsim-Client"
	ClientCoordinator = "coordinator"
	ClientAPI         = "api"
	ClientDevice      = "device"
)

// notifyingBackend is the copy-on-write backend with S3 event notifications: every
// completed write under the staging prefix (PUT, or a completed multipart
// upload, which reaches the backend as a PutObject) is reported.
type notifyingBackend struct {
	*objstore.Backend
	notify func(key string, size int64)
}

func (b *notifyingBackend) PutObject(bucket, key string, meta map[string]string, input io.Reader, size int64, cond *gofakes3.PutConditions) (gofakes3.PutObjectResult, error) {
	// objstore copies the key and metadata out of the request it keeps
	// them from, so the request's strings die with it and the harness's
	// memory split (MemSample) counts stored state as the fakes'.
	res, err := b.Backend.PutObject(bucket, key, meta, input, size, cond)
	if err == nil && b.notify != nil && strings.HasPrefix(key, coordinator.StagingPrefix) {
		b.notify(key, size)
	}
	return res, err
}

// CopyObject shares the source's bytes (objstore) and reports a copy into
// the staging prefix as S3 would, as a completed write.
func (b *notifyingBackend) CopyObject(srcBucket, srcKey, dstBucket, dstKey string, meta map[string]string) (gofakes3.CopyObjectResult, error) {
	res, err := b.Backend.CopyObject(srcBucket, srcKey, dstBucket, dstKey, meta) // copied as in PutObject
	if err == nil && b.notify != nil && strings.HasPrefix(dstKey, coordinator.StagingPrefix) {
		if o, herr := b.Backend.HeadObject(dstBucket, dstKey); herr == nil {
			b.notify(dstKey, o.Size)
		}
	}
	return res, err
}
