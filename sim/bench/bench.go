package bench

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/redis/go-redis/v9"

	"github.com/stormsim/stormsim/coordinator"
	"github.com/stormsim/stormsim/internal/syncx"
	"github.com/stormsim/stormsim/sim/env"
)

// OpRate is the measured throughput of one component operation on the
// embedded fakes.
type OpRate struct {
	Op      string  `json:"op"`
	Size    int64   `json:"size,omitempty"` // bytes, for size-dependent operations
	PerSec  float64 `json:"per_second"`
	Samples int     `json:"samples"`
}

// Options tune MeasureOps.
type Options struct {
	Workers  int           // concurrent callers (default 64)
	Duration time.Duration // per operation (default 1s)
	Sizes    []int64       // object sizes for PUT/GET/COPY (default 1 KiB)
}

// MeasureOps measures, in this process and one run, the throughput of each
// operation the upload pipeline is made of, on fresh embedded fakes: a
// staging PUT, a GET (read back and hash), a COPY and a DELETE per size;
// lock acquire + release, head read + write, result write + publish (the
// coordinator's scripts and commands); and a poll GET through the result
// API. The ceiling model divides a second by what one upload costs.
func MeasureOps(ctx context.Context, o Options) (_ []OpRate, err error) {
	if o.Workers <= 0 {
		o.Workers = 64
	}
	if o.Duration <= 0 {
		o.Duration = time.Second
	}
	if len(o.Sizes) == 0 {
		o.Sizes = []int64{1024}
	}
	e, err := env.NewEmbedded(env.EmbeddedOptions{})
	if err != nil {
		return nil, err
	}
	defer e.Close()
	c, err := coordinator.New(coordinator.Config{Bucket: e.Bucket, Prefix: "bench:", Now: time.Now}, e.S3, e.Redis)
	if err != nil {
		return nil, err
	}
	var out []OpRate
	measure := func(op string, size int64, f func(ctx context.Context, i int64) error) error {
		n, err := hammer(ctx, o.Workers, o.Duration, f)
		if err != nil {
			return fmt.Errorf("bench %s: %w", op, err)
		}
		out = append(out, OpRate{Op: op, Size: size, PerSec: float64(n) / o.Duration.Seconds(), Samples: int(n)})
		return nil
	}
	b := e.Bucket
	for _, size := range o.Sizes {
		body := make([]byte, size)
		_, _ = rand.Read(body)
		key := func(kind string, i int64) string { return fmt.Sprintf("bench/%s/%d/%d", kind, size, i) }
		if err := measure("put", size, func(ctx context.Context, i int64) error {
			k := key("obj", i)
			_, err := e.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: &b, Key: &k, Body: bytes.NewReader(body)})
			return err
		}); err != nil {
			return nil, err
		}
		// A fixed pool of objects to read, head and copy (the timed PUTs
		// may have been cut off mid-request).
		const n = 256
		for i := range int64(n) {
			k := key("pool", i)
			if _, err := e.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: &b, Key: &k, Body: bytes.NewReader(body)}); err != nil {
				return nil, fmt.Errorf("bench: %w", err)
			}
		}
		if err := measure("get", size, func(ctx context.Context, i int64) error {
			k := key("pool", i%n)
			g, err := e.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: &b, Key: &k})
			if err != nil {
				return err
			}
			_, err = bytes.NewBuffer(nil).ReadFrom(g.Body)
			g.Body.Close()
			return err
		}); err != nil {
			return nil, err
		}
		if err := measure("head", size, func(ctx context.Context, i int64) error {
			k := key("pool", i%n)
			_, err := e.S3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &b, Key: &k})
			return err
		}); err != nil {
			return nil, err
		}
		if err := measure("copy", size, func(ctx context.Context, i int64) error {
			src, dst := b+"/"+key("pool", i%n), key("copy", i)
			_, err := e.S3.CopyObject(ctx, &s3.CopyObjectInput{Bucket: &b, Key: &dst, CopySource: &src,
				MetadataDirective: types.MetadataDirectiveReplace})
			return err
		}); err != nil {
			return nil, err
		}
		if err := measure("delete", size, func(ctx context.Context, i int64) error {
			k := key("obj", i)
			_, err := e.S3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &b, Key: &k})
			return err
		}); err != nil {
			return nil, err
		}
	}
	rdb := e.Redis
	if err := measure("lock+release", 0, func(ctx context.Context, i int64) error {
		k := c.KeysFor("bench", strconv.FormatInt(i, 10), "x")
		tok := strconv.FormatInt(i, 10)
		if err := rdb.SetNX(ctx, k.Lock, tok, 10*time.Second).Err(); err != nil {
			return err
		}
		return releaseForBench.Run(ctx, rdb, []string{k.Lock}, tok).Err()
	}); err != nil {
		return nil, err
	}
	if err := measure("head read+write", 0, func(ctx context.Context, i int64) error {
		k := c.KeysFor("bench", strconv.FormatInt(i%1000, 10), "x")
		if err := rdb.HGet(ctx, k.Head, "v").Err(); err != nil && err.Error() != "redis: nil" {
			return err
		}
		return rdb.HSet(ctx, k.Head, "v", i, "id", "x").Err()
	}); err != nil {
		return nil, err
	}
	if err := measure("result+publish", 0, func(ctx context.Context, i int64) error {
		k := c.KeysFor("bench", "p", strconv.FormatInt(i, 10))
		p := rdb.Pipeline()
		p.SetNX(ctx, k.Result, `{"id":"x","state":"committed","version":1}`, time.Hour)
		p.Publish(ctx, c.PushChannel("bench"), `{"id":"x"}`)
		_, err := p.Exec(ctx)
		return err
	}); err != nil {
		return nil, err
	}
	// A poll: the result API answering a decided upload.
	tokens := coordinator.Tokens{Secret: []byte("bench")}
	ln, err := coordinator.Listen("")
	if err != nil {
		return nil, err
	}
	srv := coordinator.NewServer(c.API(tokens))
	served := syncx.Serve(srv, ln)
	defer func() {
		if cerr := served.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	k := c.KeysFor("bench", "p", "polled")
	if err := rdb.Set(ctx, k.Result, `{"id":"polled","state":"committed","version":1}`, time.Hour).Err(); err != nil {
		return nil, err
	}
	url := "http://" + ln.Addr().String() + "/v1/uploads/polled"
	auth := "Bearer " + tokens.Token("bench")
	if err := measure("poll", 0, func(ctx context.Context, i int64) error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		req.Header.Set("Authorization", auth)
		resp, err := e.HTTP.Do(req)
		if err != nil {
			return err
		}
		_, _ = bytes.NewBuffer(nil).ReadFrom(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("poll: HTTP %d", resp.StatusCode)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	return out, nil
}

// releaseForBench is the coordinator's compare-and-delete release, from
// its own source.
var releaseForBench = func() *redis.Script {
	src, _ := coordinator.ScriptSource(coordinator.ScriptRelease)
	return redis.NewScript(src)
}()

// Ceiling is the modelled upper bound of uploads decided per second on
// this machine: one second divided by the cost of one upload's operations,
// each cost measured alone at full concurrency, each counted as often as
// the run really made it per upload. The model assumes the operations
// share the machine's CPUs and do not overlap for free, which is what a
// 2-core box running fakes, coordinator and devices does; everything the
// harness does besides (hashing, scheduling, history) is what separates
// the achieved rate from it.
type Ceiling struct {
	Ops        []OpRate           `json:"ops"`
	Size       int64              `json:"size"`       // the mix's mean upload size the costs were measured at
	PerUpload  map[string]float64 `json:"per_upload"` // operations per upload, as the run made them
	Seconds    map[string]float64 `json:"seconds"`    // seconds of each operation per upload
	UploadsSec float64            `json:"uploads_per_second"`
}

// CeilingFor combines measured rates with the run's operations per upload
// (keys: put, get, head, copy, delete, redis, poll; multipart steps count
// as puts) into the ceiling.
func CeilingFor(ops []OpRate, size int64, perUpload map[string]float64) Ceiling {
	rate := func(op string) float64 {
		for _, o := range ops {
			if o.Op == op && (o.Size == 0 || o.Size == size) {
				return o.PerSec
			}
		}
		return 0
	}
	c := Ceiling{Ops: ops, Size: size, PerUpload: perUpload, Seconds: map[string]float64{}}
	var total float64
	for op, n := range perUpload {
		r := rate(op)
		if op == "redis" {
			// A lock+release pair is two scripted calls: the costliest kind.
			r = 2 * rate("lock+release")
		}
		if r > 0 && n > 0 {
			c.Seconds[op] = n / r
			total += n / r
		}
	}
	if total > 0 {
		c.UploadsSec = 1 / total
	}
	return c
}

// OpsPerUpload turns a run's counted operations into per-upload counts for
// CeilingFor. Polls are counted apart from the S3 HEADs and Redis reads
// they cause, which the poll's measured cost already includes... except
// for the HEAD of a pending poll, which stays under "head".
func OpsPerUpload(s3ops map[string]int64, redisCalls, polls, uploads int64) map[string]float64 {
	if uploads == 0 {
		return nil
	}
	n := float64(uploads)
	m := map[string]float64{
		"put":    float64(s3ops["PUT"]+s3ops["UPLOAD_PART"]+s3ops["CREATE_MULTIPART"]+s3ops["COMPLETE_MULTIPART"]) / n,
		"get":    float64(s3ops["GET"]) / n,
		"head":   float64(s3ops["HEAD"]) / n,
		"copy":   float64(s3ops["COPY"]) / n,
		"delete": float64(s3ops["DELETE"]) / n,
		"poll":   float64(polls) / n,
	}
	// Each poll's Redis GET is inside the measured poll cost.
	m["redis"] = max(float64(redisCalls-polls)/n, 0)
	return m
}

// hammer calls f from workers goroutines for d and counts the calls.
func hammer(ctx context.Context, workers int, d time.Duration, f func(ctx context.Context, i int64) error) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var next atomic.Int64
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := next.Add(1) - 1
				if err := f(ctx, i); err != nil && ctx.Err() == nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	return next.Load() - int64(workers), first
}
