package model

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/redis/go-redis/v9"

	"github.com/stormsim/stormsim/internal/inproc"
	"github.com/stormsim/stormsim/internal/memredis"
	"github.com/stormsim/stormsim/internal/objstore"
	"github.com/stormsim/stormsim/internal/s3endpoint"
	"github.com/stormsim/stormsim/sim/env"
	"github.com/stormsim/stormsim/sim/traffic"
)

// Backends are the S3 and Redis the coordinator's calls are recorded on
// and timed against: the embedded fakes (NewEmbedded), reached in process
// as the harness reaches them, or real servers (the caller's clients).
type Backends struct {
	S3     *s3.Client
	HTTP   *http.Client // plain requests to S3's endpoint: the devices' presigned PUTs
	Redis  redis.UniversalClient
	Bucket string
	Name   string // "embedded", or what the caller says

	once    sync.Once
	closers []func()
	devOnce sync.Once
	dev     *traffic.Devices
}

// devices are the harness's devices on these backends (made at first
// use, after the caller has set S3, HTTP and Bucket): calibration stages
// through them, presigned PUTs over plain HTTP as in a run.
func (b *Backends) devices() *traffic.Devices {
	b.devOnce.Do(func() {
		b.dev = &traffic.Devices{Env: &env.Env{DeviceS3: b.S3, Presign: s3.NewPresignClient(b.S3), HTTP: b.HTTP, Bucket: b.Bucket}, Now: time.Now}
	})
	return b.dev
}

// embeddedHost is the fake S3's host in URLs; requests never leave the
// process (inproc.Transport serves them).
const embeddedHost = "s3.model.invalid"

// NewEmbedded starts gofakes3 (the harness's objstore) and miniredis with the cached Lua
// scripts (internal/memredis), served in process: the S3 client's HTTP
// requests go through inproc.Transport and go-redis dials an in-memory
// pipe. miniredis also listens on loopback, which nothing here uses.
func NewEmbedded() (*Backends, error) {
	b := &Backends{Bucket: "stormsim", Name: "embedded"}
	mr := miniredis.NewMiniRedis()
	if err := mr.StartAddr("127.0.0.1:0"); err != nil {
		return nil, fmt.Errorf("start miniredis: %w", err)
	}
	b.closers = append(b.closers, mr.Close)
	if _, err := memredis.Install(mr); err != nil {
		b.Close()
		return nil, fmt.Errorf("start miniredis: %w", err)
	}
	// The harness's own store (sim/env): calls timed here cost what they
	// cost in a run.
	tr := &inproc.Transport{}
	tr.Handle(embeddedHost, objstore.Server(objstore.New(objstore.Options{})))
	b.closers = append(b.closers, tr.Close)
	b.HTTP = &http.Client{Transport: tr, Timeout: time.Minute}
	b.S3 = s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String("http://" + embeddedHost), UsePathStyle: true,
		Credentials:                credentials.NewStaticCredentialsProvider("stormsim", "stormsim", ""),
		HTTPClient:                 b.HTTP,
		EndpointResolverV2:         s3endpoint.Cached(s3.NewDefaultEndpointResolverV2()),
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired})
	b.Redis = redis.NewClient(&redis.Options{Addr: "miniredis.inproc", PoolSize: 64,
		Dialer: func(ctx context.Context, _, _ string) (net.Conn, error) {
			srv := mr.Server()
			if srv == nil {
				return nil, fmt.Errorf("dial miniredis: closed")
			}
			client, server := inproc.Pipe()
			srv.ServeConn(server)
			return client, nil
		}})
	b.closers = append(b.closers, func() { _ = b.Redis.Close() })
	if _, err := b.S3.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: &b.Bucket}); err != nil {
		b.Close()
		return nil, fmt.Errorf("create bucket: %w", err)
	}
	return b, nil
}

// Close stops what NewEmbedded started (in reverse order); idempotent.
func (b *Backends) Close() {
	b.once.Do(func() {
		for i := len(b.closers) - 1; i >= 0; i-- {
			b.closers[i]()
		}
	})
}

// RecordEmbedded records the coordinator's call sequences on fresh
// embedded fakes.
func RecordEmbedded(ctx context.Context) (*Sequences, error) {
	b, err := NewEmbedded()
	if err != nil {
		return nil, err
	}
	defer b.Close()
	return Record(ctx, b.S3, b.Redis, b.Bucket)
}
