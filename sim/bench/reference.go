package bench

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/stormsim/stormsim/coordinator"
	"github.com/stormsim/stormsim/sim/env"
	"github.com/stormsim/stormsim/sim/traffic"
)

// The references of `simrun bench`: what the same machine does when the
// harness does nothing but the work being compared. Each runs on fresh
// embedded fakes of the same kind as a run's, in the bench's process,
// right before the scenario, so ratios come from one sitting.

// ReferenceOptions tune the references.
type ReferenceOptions struct {
	Workers  int           // concurrent callers (default 64)
	Duration time.Duration // per reference (default 2s)
	Size     int64         // object size (default 1 KiB)
	// Coordinator is the configuration the reference pipeline's
	// coordinator takes its strategy and TTLs from (the scenario's);
	// bucket, prefix, clock and observer are the reference's own.
	Coordinator coordinator.Config
}

func (o *ReferenceOptions) defaults() {
	if o.Workers <= 0 {
		o.Workers = 64
	}
	if o.Duration <= 0 {
		o.Duration = 2 * time.Second
	}
	if o.Size <= 0 {
		o.Size = 1024
	}
}

// MeasureReference is the reference pipeline: the coordinator's own S3 and
// Redis steps for one upload in a tight loop — a staging PUT through the
// AWS SDK, then the coordinator's real handler for that key (read and hash
// the staged object, lock + fence script, head read, commit script, version
// and final copies, result + publish + release script, staging delete) —
// with no devices, no event delivery, no history and no checking. Every
// upload is a new file, so none conflicts. It returns uploads decided per
// second.
func MeasureReference(ctx context.Context, o ReferenceOptions) (OpRate, error) {
	o.defaults()
	e, c, err := newReference(o.Coordinator)
	if err != nil {
		return OpRate{}, err
	}
	defer e.Close()
	n, err := referencePipeline(ctx, e, c, o)
	if err != nil {
		return OpRate{}, fmt.Errorf("reference pipeline: %w", err)
	}
	return OpRate{Op: "reference", Size: o.Size, PerSec: float64(n) / o.Duration.Seconds(), Samples: int(n)}, nil
}

// newReference starts the reference pipeline's fresh embedded fakes and
// its coordinator, configured as cfg but for the bucket, prefixes, clock,
// observer and hooks, which are the reference's own. The caller closes
// the environment.
func newReference(cfg coordinator.Config) (*env.Env, *coordinator.Coordinator, error) {
	e, err := env.NewEmbedded(env.EmbeddedOptions{})
	if err != nil {
		return nil, nil, err
	}
	cfg.Bucket, cfg.Prefix, cfg.ObjectPrefix, cfg.Now, cfg.Observer, cfg.Hooks = e.Bucket, "ref:", "", time.Now, nil, nil
	// The run's handler goes through the same retrying store.
	c, err := coordinator.New(cfg, coordinator.NewRetryStore(e.S3, coordinator.RetryPolicy{}), e.Redis)
	if err != nil {
		e.Close()
		return nil, nil, fmt.Errorf("reference coordinator: %w", err)
	}
	return e, c, nil
}

// referencePipeline runs the reference loop on env with coordinator c for
// o.Duration and returns how many uploads it started.
func referencePipeline(ctx context.Context, e *env.Env, c *coordinator.Coordinator, o ReferenceOptions) (int64, error) {
	return hammer(ctx, o.Workers, o.Duration, referenceUpload(e, c, o.Size))
}

// referenceUpload is one upload of the reference pipeline: upload i
// staged and decided.
func referenceUpload(e *env.Env, c *coordinator.Coordinator, size int64) func(ctx context.Context, i int64) error {
	body := make([]byte, size)
	for i := range body {
		body[i] = byte(i)
	}
	sum := sha256.Sum256(body)
	sha := hex.EncodeToString(sum[:])
	return func(ctx context.Context, i int64) error {
		id := "ref-" + strconv.FormatInt(i, 10)
		u := coordinator.Upload{ID: id, User: "ref" + strconv.FormatInt(i%64, 10), Path: "f" + strconv.FormatInt(i, 10) + ".txt",
			Device: "ref", SHA256: sha}
		key := c.StagingKey(u.User, u.ID)
		if _, err := e.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: &e.Bucket, Key: &key, Body: bytes.NewReader(body),
			ContentLength: aws.Int64(size), Metadata: coordinator.Metadata(u)}); err != nil {
			return fmt.Errorf("staging put: %w", err)
		}
		return c.HandleKey(ctx, key)
	}
}

// MeasureVegeta attacks the embedded S3 endpoint with vegeta's library:
// PUTs of Size bytes to fresh keys, at the highest rate Workers workers
// reach, through the same HTTP transport the devices use. It returns
// successful PUTs per second.
func MeasureVegeta(ctx context.Context, o ReferenceOptions) (OpRate, error) {
	o.defaults()
	e, err := env.NewEmbedded(env.EmbeddedOptions{})
	if err != nil {
		return OpRate{}, err
	}
	defer e.Close()
	body := make([]byte, o.Size)
	var seq atomic.Int64
	base := e.S3URL + "/" + e.Bucket + "/vegeta/"
	targeter := func(t *vegeta.Target) error {
		*t = vegeta.Target{Method: http.MethodPut, URL: base + strconv.FormatInt(seq.Add(1), 10), Body: body}
		return nil
	}
	w := uint64(o.Workers)
	atk := vegeta.NewAttacker(vegeta.Client(e.HTTP), vegeta.Workers(w), vegeta.MaxWorkers(w), vegeta.MaxBody(0))
	stop := context.AfterFunc(ctx, func() { atk.Stop() })
	defer stop()
	var m vegeta.Metrics
	for res := range atk.Attack(targeter, vegeta.Rate{}, o.Duration, "stormsim-bench") {
		m.Add(res)
	}
	m.Close()
	if err := ctx.Err(); err != nil {
		return OpRate{}, err
	}
	if m.Success < 0.99 {
		return OpRate{}, fmt.Errorf("vegeta: %.1f%% of %d PUTs failed (%v)", 100*(1-m.Success), m.Requests, m.Errors)
	}
	ok := int(float64(m.Requests) * m.Success)
	return OpRate{Op: "vegeta put", Size: o.Size, PerSec: m.Throughput, Samples: ok}, nil
}

// MeasureDevicePut is the devices' staging path alone, as a run's device
// does it: generate the content and hash it, presign, and PUT it over
// plain HTTP to the embedded S3 (no handler runs). It returns staged
// uploads per second, to compare with MeasureVegeta.
func MeasureDevicePut(ctx context.Context, o ReferenceOptions) (OpRate, error) {
	o.defaults()
	e, err := env.NewEmbedded(env.EmbeddedOptions{})
	if err != nil {
		return OpRate{}, err
	}
	defer e.Close()
	dev := &traffic.Devices{Env: e, Now: time.Now}
	n, err := hammer(ctx, o.Workers, o.Duration, func(ctx context.Context, i int64) error {
		return dev.Stage(ctx, "dev-"+strconv.FormatInt(i, 10), o.Size, uint64(i))
	})
	if err != nil {
		return OpRate{}, fmt.Errorf("device put: %w", err)
	}
	return OpRate{Op: "device put", Size: o.Size, PerSec: float64(n) / o.Duration.Seconds(), Samples: int(n)}, nil
}
