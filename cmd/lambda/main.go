// Command lambda runs the coordinator as an AWS Lambda function: S3
// ObjectCreated notifications for the staging prefix invoke
// coordinator.HandleEvent. A returned error makes Lambda retry the event
// (twice for asynchronous invocations), which the handler tolerates.
//
// Configuration comes from environment variables:
//
//	STORMSIM_BUCKET         the bucket (required)
//	STORMSIM_REDIS_URL      redis://HOST:PORT, rediss://..., or HOST:PORT,HOST:PORT,... for a Redis Cluster (required)
//	STORMSIM_KEY_PREFIX     prefix of every Redis key and channel (default "stormsim:")
//	STORMSIM_OBJECT_PREFIX  prefix of every S3 key, "" or ending in "/" (default "")
//	STORMSIM_STRATEGY       redis-lock (default) or s3-conditional
//	STORMSIM_LOCK_TTL       lock TTL, a Go duration (default 10s)
//	STORMSIM_RESULT_TTL     how long results stay queryable (default 24h)
//	STORMSIM_KEEP_VERSIONS  N > 0: a bucket lifecycle rule keeps only the newest N versions/ objects
//	                        of each file, and each commit meters the expiry it causes (default 0:
//	                        every version stays); it must match the bucket's rule
//	STORMSIM_S3_ENDPOINT    an S3-compatible endpoint instead of AWS S3 (path-style)
//	STORMSIM_EC2_IMDS       "1" lets the SDK ask the EC2 instance metadata service for credentials (default off)
//	STORMSIM_ROLE           coordinator (default: S3 notifications) or result-api (the result API, GET
//	                        /v1/uploads/{id}, to Lambda function URL requests)
//	STORMSIM_TOKEN_SECRET   result-api: the secret signing the users' bearer tokens (16 bytes or more)
//
// Credentials and region come from the standard AWS configuration chain
// (in Lambda, the function's execution role, passed in the environment).
// The EC2 instance metadata service is not asked: Lambda has none, and
// outside Lambda (tests, a local run) the process must reach only the
// endpoints it was given.
package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/redis/go-redis/v9"

	"github.com/stormsim/stormsim/coordinator"
	"github.com/stormsim/stormsim/internal/connect"
)

func main() {
	fn, _, err := entry(context.Background(), os.Getenv)
	if err != nil {
		log.Fatal(err)
	}
	lambda.Start(fn)
}

// entry is the function's Lambda handler for its role (STORMSIM_ROLE),
// and what closes its connections.
func entry(ctx context.Context, getenv func(string) string) (fn any, closeFn func(), err error) {
	switch role := getenv("STORMSIM_ROLE"); role {
	case "", roleCoordinator:
		h, err := newHandler(ctx, getenv)
		if err != nil {
			return nil, nil, err
		}
		return h.handle, func() { h.rdb.Close() }, nil
	case roleResultAPI:
		h, api, err := newAPI(ctx, getenv)
		if err != nil {
			return nil, nil, err
		}
		return functionURL(api), func() { h.rdb.Close() }, nil
	default:
		return nil, nil, fmt.Errorf("STORMSIM_ROLE %q: want %s (default) or %s", role, roleCoordinator, roleResultAPI)
	}
}

// handler is one Lambda execution environment: its clients live across
// invocations.
type handler struct {
	coord *coordinator.Coordinator
	rdb   redis.UniversalClient
}

func (h *handler) handle(ctx context.Context, ev events.S3Event) error {
	return h.coord.HandleEvent(ctx, ev)
}

// newHandler builds the coordinator from the environment.
func newHandler(ctx context.Context, getenv func(string) string) (*handler, error) {
	bucket := getenv("STORMSIM_BUCKET")
	if bucket == "" {
		return nil, fmt.Errorf("STORMSIM_BUCKET is not set")
	}
	redisURL := getenv("STORMSIM_REDIS_URL")
	if redisURL == "" {
		return nil, fmt.Errorf("STORMSIM_REDIS_URL is not set")
	}
	ro, err := connect.RedisOptions(redisURL)
	if err != nil {
		return nil, fmt.Errorf("STORMSIM_REDIS_URL: %w", err)
	}
	prefix := getenv("STORMSIM_KEY_PREFIX")
	if prefix == "" {
		prefix = "stormsim:"
	}
	var ttl time.Duration
	if s := getenv("STORMSIM_LOCK_TTL"); s != "" {
		if ttl, err = time.ParseDuration(s); err != nil || ttl <= 0 {
			return nil, fmt.Errorf("STORMSIM_LOCK_TTL %q: want a positive duration such as 10s", s)
		}
	}
	var resultTTL time.Duration
	if s := getenv("STORMSIM_RESULT_TTL"); s != "" {
		if resultTTL, err = time.ParseDuration(s); err != nil || resultTTL < time.Second {
			return nil, fmt.Errorf("STORMSIM_RESULT_TTL %q: want a duration of at least 1s such as 24h", s)
		}
	}
	var keep int
	if s := getenv("STORMSIM_KEEP_VERSIONS"); s != "" {
		if keep, err = strconv.Atoi(s); err != nil || keep < 0 {
			return nil, fmt.Errorf("STORMSIM_KEEP_VERSIONS %q: want a whole number of versions, 0 (keep every version) or more", s)
		}
	}
	cfg, err := connect.AWSConfig(ctx, getenv("STORMSIM_EC2_IMDS") == "1")
	if err != nil {
		return nil, err
	}
	endpoint := getenv("STORMSIM_S3_ENDPOINT")
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
			o.UsePathStyle = true
		}
		// Checksums only when an operation requires them: S3-compatible
		// servers differ in what they accept (see docs/design.md, "Known
		// behaviour of the fakes").
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	})
	rdb := redis.NewUniversalClient(ro)
	coord, err := coordinator.New(coordinator.Config{Bucket: bucket, Strategy: coordinator.Strategy(getenv("STORMSIM_STRATEGY")), Prefix: prefix,
		ObjectPrefix: getenv("STORMSIM_OBJECT_PREFIX"), LockTTL: ttl, ResultTTL: resultTTL, KeepVersions: keep, Now: time.Now}, client, rdb)
	if err != nil {
		rdb.Close()
		return nil, err
	}
	return &handler{coord: coord, rdb: rdb}, nil
}
