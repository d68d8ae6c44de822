package env

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/redis/go-redis/v9"

	"github.com/stormsim/stormsim/internal/syncx"
)

// Cleaned counts what Cleanup removed.
type Cleaned struct {
	Objects, Uploads, Keys int
	Bucket                 bool
}

// Cleanup removes what a run created on real servers: every object and
// unfinished multipart upload under objectPrefix, every Redis key under
// keyPrefix, and the bucket when NewRemote created it and it is empty.
// An embedded side is skipped (it vanishes on Close). It refuses empty
// prefixes: a run never removes data it did not create.
func (r *Remote) Cleanup(ctx context.Context, keyPrefix, objectPrefix string) (Cleaned, error) {
	var c Cleaned
	var errs []error
	if r.remoteS3 {
		if objectPrefix == "" {
			return c, fmt.Errorf("%w: refusing to clean an empty object prefix", ErrRemote)
		}
		n, u, err := deletePrefix(ctx, r.S3, r.Bucket, objectPrefix)
		c.Objects, c.Uploads = n, u
		if err != nil {
			errs = append(errs, err)
		} else if r.CreatedBucket {
			if _, err := r.S3.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: &r.Bucket}); err == nil {
				c.Bucket = true
			}
		}
	}
	if r.remoteRedis {
		if keyPrefix == "" {
			return c, fmt.Errorf("%w: refusing to clean an empty key prefix", ErrRemote)
		}
		n, err := DeleteKeys(ctx, r.Redis, keyPrefix)
		c.Keys = n
		if err != nil {
			errs = append(errs, err)
		}
	}
	return c, errors.Join(errs...)
}

// deletePrefix removes every object and multipart upload under prefix.
func deletePrefix(ctx context.Context, c *s3.Client, bucket, prefix string) (objects, uploads int, err error) {
	mp := s3.NewListMultipartUploadsPaginator(c, &s3.ListMultipartUploadsInput{Bucket: &bucket, Prefix: &prefix})
	for mp.HasMorePages() {
		page, err := mp.NextPage(ctx)
		if err != nil {
			break // not every server lists uploads; the objects matter more
		}
		for _, u := range page.Uploads {
			if _, err := c.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: &bucket, Key: u.Key, UploadId: u.UploadId}); err == nil {
				uploads++
			}
		}
	}
	p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: &bucket, Prefix: &prefix})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return objects, uploads, fmt.Errorf("list %s: %w", prefix, err)
		}
		// One DELETE per object: DeleteObjects needs a checksum header that
		// not every S3-compatible server accepts the same way.
		errs := make([]error, len(page.Contents))
		syncx.Parallel(ctx, len(page.Contents), 32, func(i int) {
			_, errs[i] = c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &bucket, Key: page.Contents[i].Key})
		})
		for i, err := range errs {
			if err != nil {
				return objects, uploads, fmt.Errorf("delete %s: %w", aws.ToString(page.Contents[i].Key), err)
			}
			objects++
		}
	}
	return objects, uploads, nil
}

// DeleteKeys removes every Redis key that starts with prefix (on each
// master of a cluster) and returns how many it removed.
func DeleteKeys(ctx context.Context, rdb redis.UniversalClient, prefix string) (int, error) {
	match := globEscape(prefix) + "*"
	var total atomic.Int64
	del := func(ctx context.Context, c *redis.Client) error {
		iter := c.Scan(ctx, 0, match, 1000).Iterator()
		var batch []string
		flush := func() error {
			if len(batch) == 0 {
				return nil
			}
			n, err := c.Unlink(ctx, batch...).Result()
			total.Add(n)
			batch = batch[:0]
			return err
		}
		for iter.Next(ctx) {
			if batch = append(batch, iter.Val()); len(batch) == 500 {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		if err := iter.Err(); err != nil {
			return err
		}
		return flush()
	}
	var err error
	switch c := rdb.(type) {
	case *redis.ClusterClient:
		// Keys of one SCAN page may hash to different slots of the same
		// master; UNLINK of several keys then fails with CROSSSLOT, so a
		// cluster deletes them one at a time.
		err = c.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error {
			iter := n.Scan(ctx, 0, match, 1000).Iterator()
			for iter.Next(ctx) {
				if err := n.Unlink(ctx, iter.Val()).Err(); err != nil {
					return err
				}
				total.Add(1)
			}
			return iter.Err()
		})
	case *redis.Client:
		err = del(ctx, c)
	default:
		err = fmt.Errorf("%w: cannot scan a %T", ErrRemote, rdb)
	}
	if err != nil {
		return int(total.Load()), fmt.Errorf("delete keys %s*: %w", prefix, err)
	}
	return int(total.Load()), nil
}

// globEscape quotes the characters SCAN MATCH treats specially.
func globEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[]\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// RunPrefixes are the prefixes of one run on shared servers.
func RunPrefixes(runID string) (keyPrefix, objectPrefix string) {
	return "stormsim:" + runID + ":", "stormsim/" + runID + "/"
}
