package regions

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/redis/go-redis/v9"

	"github.com/stormsim/stormsim/coordinator"
	"github.com/stormsim/stormsim/internal/objstore"
	"github.com/stormsim/stormsim/scenarios"
	"github.com/stormsim/stormsim/sim/env"
)

// bucket is every region's bucket name.
const bucket = "stormsim"

// site is one region: its own S3 (gofakes3), Redis (miniredis) and
// coordinator, the queue of its staging events, and the queue of its
// version events that feeds its replicator.
type site struct {
	i     int
	name  string
	mr    *miniredis.Miniredis
	rdb   *redis.Client
	local *s3.Client // this region's own clients (coordinator, read-back)
	coord *coordinator.Coordinator
	stage *queue // staging/ events -> coordinator
	repl  *queue // versions/ events -> replicator

	stopClock chan struct{}
	clockDone sync.WaitGroup
}

// backend is s3mem that reports writes: staging keys to the coordinator's
// queue, version keys to the replicator's.
type backend struct {
	*s3mem.Backend
	onWrite func(key string)
}

func (b *backend) PutObject(bkt, key string, meta map[string]string, input io.Reader, size int64, cond *gofakes3.PutConditions) (gofakes3.PutObjectResult, error) {
	res, err := b.Backend.PutObject(bkt, key, meta, input, size, cond)
	if err == nil {
		b.onWrite(key)
	}
	return res, err
}

// CopyObject copies through PutObject above, so copies are reported too.
func (b *backend) CopyObject(srcBucket, srcKey, dstBucket, dstKey string, meta map[string]string) (gofakes3.CopyObjectResult, error) {
	return gofakes3.CopyObject(b, srcBucket, srcKey, dstBucket, dstKey, meta)
}

// newSite starts region i's fakes and coordinator. obs records the
// coordinator's decisions; count counts the requests its S3 serves.
func newSite(n *network, i int, sc *scenarios.Scenario, obs coordinator.Observer, count *env.Counter) (*site, error) {
	s := &site{i: i, name: n.names[i], stopClock: make(chan struct{})}
	s.mr = miniredis.NewMiniRedis()
	if err := s.mr.StartAddr("127.0.0.1:0"); err != nil {
		return nil, fmt.Errorf("start redis of %s: %w", s.name, err)
	}
	s.rdb = redis.NewClient(&redis.Options{Addr: s.mr.Addr(), PoolSize: 64, MaxRetries: 1,
		MinRetryBackoff: 10 * time.Millisecond, MaxRetryBackoff: 50 * time.Millisecond})
	var b *backend
	b = &backend{Backend: s3mem.New(), onWrite: func(key string) {
		switch {
		case strings.HasPrefix(key, coordinator.StagingPrefix):
			s.stage.emit(key)
		case strings.HasPrefix(key, coordinator.VersionPrefix) && s.repl != nil:
			s.repl.emit(key)
		}
	}}
	n.mux.Handle(host(s.name), count.WrapS3(objstore.Server(b)))
	s.local = n.client(i, i)
	if _, err := s.local.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: new(bucket)}); err != nil {
		s.close()
		return nil, fmt.Errorf("create bucket in %s: %w", s.name, err)
	}
	c := sc.Coordinator
	coord, err := coordinator.New(coordinator.Config{Bucket: bucket, Strategy: coordinator.StrategyRedisLock,
		LockTTL: c.LockTTL, ResultTTL: c.ResultTTL, Now: time.Now, Observer: obs}, s.local, s.rdb)
	if err != nil {
		s.close()
		return nil, fmt.Errorf("coordinator of %s: %w", s.name, err)
	}
	s.coord = coord
	s.stage = newQueue(max(sc.Delivery.QueueSize, 1024), max(c.Concurrency, 1), c.Retries, 200*time.Millisecond,
		func(ctx context.Context, key string) error { return coord.HandleEvent(ctx, s3Event(key)) })
	s.clockDone.Add(1)
	go s.driveClock()
	return s, nil
}

// driveClock advances miniredis with the wall clock, so lock TTLs expire
// (a lock left by a handler that lost its Redis mid-upload).
func (s *site) driveClock() {
	defer s.clockDone.Done()
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	last := time.Now()
	for {
		select {
		case <-s.stopClock:
			return
		case now := <-t.C:
			s.mr.SetTime(now)
			s.mr.FastForward(now.Sub(last))
			last = now
		}
	}
}

// redisDown makes the region's Redis refuse every command, or stop doing so.
func (s *site) redisDown(on bool) {
	if on {
		s.mr.SetError("LOADING region " + s.name + " redis is down")
	} else {
		s.mr.SetError("")
	}
}

func s3Event(key string) events.S3Event {
	return events.S3Event{Records: []events.S3EventRecord{{EventName: "ObjectCreated:Put", EventSource: "aws:s3",
		S3: events.S3Entity{Bucket: events.S3Bucket{Name: bucket}, Object: events.S3Object{Key: url.QueryEscape(key)}}}}}
}

// close stops the queues and the fakes.
func (s *site) close() {
	if s.repl != nil {
		s.repl.close()
	}
	if s.stage != nil {
		s.stage.close()
	}
	close(s.stopClock)
	s.clockDone.Wait()
	if s.rdb != nil {
		_ = s.rdb.Close()
	}
	s.mr.Close()
}
