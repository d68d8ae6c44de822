package env

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/redis/go-redis/v9"

	"github.com/stormsim/stormsim/sim/metrics"
)

// Counter counts the requests a run makes against S3 and Redis, into its
// own counts and the run's Prometheus metrics.
type Counter struct {
	s3    opCounter
	redis atomic.Int64
	prom  *metrics.Set
	env   *Env // set by Watch
}

// NewCounter returns a counter that also counts into prom.
func NewCounter(prom *metrics.Set) *Counter {
	c := &Counter{prom: prom}
	c.s3.feed(prom)
	return c
}

// WrapS3 counts the requests reaching an S3 endpoint the run serves.
func (c *Counter) WrapS3(h http.Handler) http.Handler { return countS3(h, &c.s3) }

// RedisHook counts the commands of the Redis client it is added to.
func (c *Counter) RedisHook() redis.Hook { return redisCounter{&c.redis, c.prom} }

// Watch counts e's S3 requests where the environment counts them itself (a
// Remote, whose servers the run cannot wrap).
func (c *Counter) Watch(e *Env) {
	c.env = e
	if e.s3Count != nil {
		e.s3Count.feed(c.prom)
	}
}

// Counts are the requests counted so far.
func (c *Counter) Counts() OpCounts {
	s3 := &c.s3
	if c.env != nil && c.env.s3Count != nil {
		s3 = c.env.s3Count // a Remote counts where the run cannot
	}
	return OpCounts{S3: s3.snapshot(), Redis: c.redis.Load()}
}

type opCounter struct {
	mu   sync.Mutex // guards below
	prom *metrics.Set
	n    map[string]int64
}

var s3OpNames = map[string]string{"PUT": metrics.OpPut, "COPY": metrics.OpCopy, "GET": metrics.OpGet,
	"HEAD": metrics.OpHead, "DELETE": metrics.OpDelete, "LIST": metrics.OpList,
	"CREATE_MULTIPART": metrics.OpCreateMultipart, "UPLOAD_PART": metrics.OpUploadPart,
	"COMPLETE_MULTIPART": metrics.OpCompleteMultipart}

func (c *opCounter) add(op string) {
	c.mu.Lock()
	if c.n == nil {
		c.n = map[string]int64{}
	}
	c.n[op]++
	prom := c.prom
	c.mu.Unlock()
	prom.S3Request(s3OpNames[op])
}

// feed makes the counter also count into prom (the run's metrics).
func (c *opCounter) feed(prom *metrics.Set) {
	c.mu.Lock()
	c.prom = prom
	c.mu.Unlock()
}

// OpCounts are S3 requests by operation and Redis commands.
type OpCounts struct {
	S3    map[string]int64
	Redis int64
}

// countS3 classifies S3 requests by operation.
func countS3(h http.Handler, c *opCounter) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		op := s3Op(req)
		c.add(op)
		h.ServeHTTP(w, req)
	})
}

func s3Op(req *http.Request) string {
	q := req.URL.Query()
	switch req.Method {
	case http.MethodPut:
		switch {
		case req.Header.Get("X-Amz-Copy-Source") != "":
			return "COPY"
		case q.Has("partNumber"):
			return "UPLOAD_PART"
		}
		return "PUT"
	case http.MethodPost:
		if q.Has("uploads") {
			return "CREATE_MULTIPART"
		}
		if q.Has("uploadId") {
			return "COMPLETE_MULTIPART"
		}
		return "POST"
	case http.MethodGet:
		if strings.Count(strings.Trim(req.URL.Path, "/"), "/") == 0 {
			return "LIST"
		}
		return "GET"
	case http.MethodHead:
		return "HEAD"
	case http.MethodDelete:
		return "DELETE"
	}
	return req.Method
}

// redisCounter counts Redis commands (a pipeline counts each command).
type redisCounter struct {
	n    *atomic.Int64
	prom *metrics.Set
}

func (c redisCounter) DialHook(next redis.DialHook) redis.DialHook { return next }
func (c redisCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.n.Add(1)
		c.prom.RedisCall(1)
		return next(ctx, cmd)
	}
}
func (c redisCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		c.n.Add(int64(len(cmds)))
		c.prom.RedisCall(len(cmds))
		return next(ctx, cmds)
	}
}
