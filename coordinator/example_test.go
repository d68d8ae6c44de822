package coordinator_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http/httptest"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/redis/go-redis/v9"

	"github.com/stormsim/stormsim/coordinator"
)

// Two devices edit version 0 of the same file at once: one commits
// version 1, the other gets a conflict and its bytes are kept as a
// conflicted copy.
func Example() {
	ctx := context.Background()
	mr, _ := miniredis.Run()
	defer mr.Close()
	fake := httptest.NewServer(gofakes3.New(s3mem.New(), gofakes3.WithLogger(gofakes3.DiscardLog())).Server())
	defer fake.Close()
	store := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(fake.URL), UsePathStyle: true,
		Credentials:                credentials.NewStaticCredentialsProvider("key", "secret", ""),
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired})
	bucket := "example"
	_, _ = store.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &bucket})
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	defer rdb.Close()
	day := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	c, _ := coordinator.New(coordinator.Config{Bucket: bucket, Now: func() time.Time { return day }}, store, rdb)

	// Each device stages its edit of notes.txt, made from version 0.
	stage := func(id, device, text string) events.S3Event {
		sum := sha256.Sum256([]byte(text))
		u := coordinator.Upload{ID: id, User: "ana", Path: "notes.txt", Base: 0, Device: device, SHA256: hex.EncodeToString(sum[:])}
		key := coordinator.StagingKey(u.User, u.ID)
		_, _ = store.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: &key, Body: bytes.NewReader([]byte(text)),
			Metadata: coordinator.Metadata(u)})
		return events.S3Event{Records: []events.S3EventRecord{{EventName: "ObjectCreated:Put",
			S3: events.S3Entity{Bucket: events.S3Bucket{Name: bucket}, Object: events.S3Object{Key: key}}}}}
	}
	phone := stage("upload-phone", "phone", "buy milk")
	laptop := stage("upload-laptop", "laptop", "buy oat milk")

	// S3 notifies the handler; the phone's event happens to come first.
	_ = c.HandleEvent(ctx, phone)
	_ = c.HandleEvent(ctx, laptop)

	for _, id := range []string{"upload-phone", "upload-laptop"} {
		r, _, _ := c.Result(ctx, "ana", id)
		fmt.Printf("%s: %s version=%d copy=%q\n", id, r.State, r.Version, r.Copy)
	}
	// Output:
	// upload-phone: committed version=1 copy=""
	// upload-laptop: conflict version=0 copy="files/ana/notes (conflicted copy laptop 2026-11-26).txt"
}
