// Package usage reads back, after a run's drain, what each user stores
// and what the coordinator metered for them, as history records: one
// storage record per user (the bytes listed from S3 beside the meter) and
// one usage record per event of the user's usage stream. The checker's
// billing invariant judges them; it never talks to S3 or Redis itself.
package usage

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/redis/go-redis/v9"

	"github.com/stormsim/stormsim/billing"
	"github.com/stormsim/stormsim/coordinator"
	"github.com/stormsim/stormsim/sim/history"
)

// workers bounds how many users are read back at once.
const workers = 8

// Lister is the S3 call the read-back makes.
type Lister interface {
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, opts ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
}

// meteredUsers lists the users with a usage stream: a user metered for
// nothing stored is found too.
func meteredUsers(ctx context.Context, cfg Config) ([]string, error) {
	var users []string
	it := cfg.Redis.Scan(ctx, 0, cfg.Coordinator.UsagePattern(), 1000).Iterator()
	for it.Next(ctx) {
		key := it.Val()
		if i, j := strings.Index(key, "{"), strings.Index(key, "}"); i >= 0 && j > i {
			users = append(users, key[i+1:j])
		}
	}
	if err := it.Err(); err != nil {
		return users, fmt.Errorf("list usage streams: %w", err)
	}
	return users, nil
}

// Config says where to read back and whose usage.
type Config struct {
	Coordinator *coordinator.Coordinator
	S3          Lister
	Redis       redis.Cmdable
	// Users are the users the run touched; users found in the listing or
	// with a usage stream are added. Owns, when set, keeps only this shard's users.
	Users []string
	Owns  func(user string) bool
	// KeepsVersions is set for a strategy that keeps every committed
	// version (redis-lock).
	KeepsVersions bool
	// At is the end of the billed period, written on every storage record.
	At time.Time
}

// ReadBack lists the final and version prefixes once, reads each user's
// meter and usage stream, and writes the records with write (which must
// be safe for concurrent use). A user whose meter or stream cannot be
// read gets a storage record with the error; a listing error marks every
// user's record, since no user's stored bytes are then known.
func ReadBack(ctx context.Context, cfg Config, write func(rec any) error) error {
	stored, objects, listErr := list(ctx, cfg)
	users := slices.Clone(cfg.Users)
	for u := range stored {
		users = append(users, u)
	}
	metered, scanErr := meteredUsers(ctx, cfg)
	users = append(users, metered...)
	if listErr == nil {
		listErr = scanErr
	}
	slices.Sort(users)
	users = slices.Compact(users)
	users = slices.DeleteFunc(users, func(u string) bool { return cfg.Owns != nil && !cfg.Owns(u) })

	jobs := make(chan string)
	var wg sync.WaitGroup
	var mu sync.Mutex // guards firstErr
	var firstErr error
	for range min(workers, max(len(users), 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for u := range jobs {
				st := history.Storage{T: history.KindStorage, User: u, Stored: stored[u], Objects: objects[u],
					At: cfg.At, KeepsVersions: cfg.KeepsVersions}
				err := readUser(ctx, cfg, u, &st, write)
				if err == nil && listErr != nil {
					err = listErr
				}
				if err != nil {
					st.Error = err.Error()
				}
				if werr := write(st); werr != nil && err == nil {
					err = werr
				}
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	for _, u := range users {
		jobs <- u
	}
	close(jobs)
	wg.Wait()
	return firstErr
}

// readUser reads user's meter into st and writes a usage record for each
// event of the user's stream.
func readUser(ctx context.Context, cfg Config, user string, st *history.Storage, write func(any) error) error {
	m, err := cfg.Coordinator.Metered(ctx, user)
	if err != nil {
		return err
	}
	st.Metered = m
	return billing.ReadStream(ctx, cfg.Redis, cfg.Coordinator.UsageStream(user), "", billing.DefaultPage,
		func(e coordinator.UsageEvent) error {
			return write(history.Usage{T: history.KindUsage, Entry: e.ID, ID: e.Upload, User: e.User, Path: e.Path,
				Kind: e.Kind, Version: e.Version, Delta: e.Delta, Bytes: e.Bytes, Seq: e.Seq, At: e.At})
		})
}

// list sums the sizes and counts of the objects under the final and
// version prefixes, per user (the key element after the prefix).
func list(ctx context.Context, cfg Config) (bytes, objects map[string]int64, err error) {
	bytes, objects = map[string]int64{}, map[string]int64{}
	root := cfg.Coordinator.Config().ObjectPrefix
	bucket := cfg.Coordinator.Config().Bucket
	for _, prefix := range []string{root + coordinator.FinalPrefix, root + coordinator.VersionPrefix} {
		p := s3.NewListObjectsV2Paginator(cfg.S3, &s3.ListObjectsV2Input{Bucket: &bucket, Prefix: aws.String(prefix)})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return bytes, objects, fmt.Errorf("list %s: %w", prefix, err)
			}
			for _, o := range page.Contents {
				user, _, ok := strings.Cut(strings.TrimPrefix(aws.ToString(o.Key), prefix), "/")
				if !ok {
					continue
				}
				bytes[user] += aws.ToInt64(o.Size)
				objects[user]++
			}
		}
	}
	return bytes, objects, nil
}
