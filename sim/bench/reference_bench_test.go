package bench

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/stormsim/stormsim/coordinator"
	"github.com/stormsim/stormsim/sim/env"
	"github.com/stormsim/stormsim/sim/traffic"
)

// The pieces of device_to_vegeta, one b.N each, 64 callers on fresh
// embedded fakes (the references' setting):
//
//   - Vegeta_Put/bare is MeasureVegeta's request: a 1 KiB PUT to a plain
//     URL, no headers.
//   - Vegeta_Put/device-request is vegeta sending, byte for byte, what a
//     device sends: the presigned URL (SigV4 query) and the five
//     x-amz-meta-* headers, signed before the timer starts. The fake S3
//     does more for it than for a bare PUT (it parses the query, reads
//     and stores the metadata).
//   - Device_Put is MeasureDevicePut's device: generate and hash the
//     content, presign, build and send that request.
//
// Device_Put against device-request is the device's own work; bare
// against device-request is what the request the protocol needs costs
// the server.
func BenchmarkVegeta_Put(b *testing.B) {
	for _, shape := range []string{"bare", "device-request"} {
		b.Run(shape, func(b *testing.B) {
			e, err := env.NewEmbedded(env.EmbeddedOptions{})
			if err != nil {
				b.Fatal(err)
			}
			defer e.Close()
			targets := make([]vegeta.Target, b.N)
			body := make([]byte, 1024)
			for i := range targets {
				targets[i] = vegeta.Target{Method: http.MethodPut, URL: e.S3URL + "/" + e.Bucket + "/vegeta/" + strconv.Itoa(i), Body: body}
				if shape == "device-request" {
					targets[i].URL, targets[i].Header = devicePresigned(b, e, i)
				}
			}
			var next atomic.Int64
			targeter := func(t *vegeta.Target) error {
				i := next.Add(1) - 1
				if i >= int64(len(targets)) {
					return vegeta.ErrNoTargets
				}
				*t = targets[i]
				return nil
			}
			atk := vegeta.NewAttacker(vegeta.Client(e.HTTP), vegeta.Workers(64), vegeta.MaxWorkers(64), vegeta.MaxBody(0))
			var m vegeta.Metrics
			b.ReportAllocs()
			b.ResetTimer()
			for res := range atk.Attack(targeter, vegeta.Rate{}, time.Hour, "bench") {
				if res.Error != vegeta.ErrNoTargets.Error() { // each worker's last hit: the targets ran out
					m.Add(res)
				}
			}
			b.StopTimer()
			m.Close()
			if m.Requests != uint64(b.N) || m.Success < 1 {
				b.Fatalf("%d of %d PUTs, success %.3f (%v)", m.Requests, b.N, m.Success, m.Errors)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "puts/s")
		})
	}
}

// devicePresigned is the request a device sends for its upload i: the
// SDK's presigned URL and its signed headers (Host aside).
func devicePresigned(b *testing.B, e *env.Env, i int) (string, http.Header) {
	u := coordinator.Upload{ID: "dev-" + strconv.Itoa(i), User: "u1", Path: "f.txt", Device: "d",
		SHA256: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}
	key := coordinator.StagingKey(u.User, u.ID)
	r, err := e.Presign.PresignPutObject(context.Background(), &s3.PutObjectInput{Bucket: &e.Bucket, Key: &key, Metadata: coordinator.Metadata(u)})
	if err != nil {
		b.Fatal(err)
	}
	h := http.Header{}
	for k, v := range r.SignedHeader {
		if k != "Host" {
			h[k] = v
		}
	}
	return r.URL, h
}

// BenchmarkDevice_Put is MeasureDevicePut's loop for b.N uploads (see
// BenchmarkVegeta_Put).
func BenchmarkDevice_Put(b *testing.B) {
	e, err := env.NewEmbedded(env.EmbeddedOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	dev := &traffic.Devices{Env: e, Now: time.Now}
	callers(b, "puts/s", func(ctx context.Context, i int64) error {
		return dev.Stage(ctx, "dev-"+strconv.FormatInt(i, 10), 1024, uint64(i))
	})
}

// callers runs f for i in [0, b.N) from 64 goroutines, timed, and reports
// the rate as unit.
func callers(b *testing.B, unit string, f func(ctx context.Context, i int64) error) {
	ctx := context.Background()
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ReportAllocs()
	b.ResetTimer()
	for range 64 {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < int64(b.N); i = next.Add(1) - 1 {
				if err := f(ctx, i); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), unit)
}

// BenchmarkReference_Upload is MeasureReference's loop for b.N uploads,
// 64 callers: allocations and CPU of the coordinator's S3 and Redis steps
// for one upload on the embedded fakes, the clients' share included.
func BenchmarkReference_Upload(b *testing.B) {
	e, c, err := newReference(coordinator.Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	callers(b, "uploads/s", referenceUpload(e, c, 1024))
}
