package sim

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/stormsim/stormsim/coordinator"
	"github.com/stormsim/stormsim/sim/history"
)

// storedBytes sums what the run left in the bucket (final objects,
// versions, conflicted copies): the fakes hold it in memory, so it is
// reported apart from the harness's own memory.
func (r *runner) storedBytes(ctx context.Context) int64 {
	var n int64
	prefix := r.coord.Config().ObjectPrefix
	p := s3.NewListObjectsV2Paginator(r.env.S3, &s3.ListObjectsV2Input{Bucket: &r.env.Bucket, Prefix: &prefix})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return n
		}
		for _, o := range page.Contents {
			n += aws.ToInt64(o.Size)
		}
	}
	return n
}
func (r *runner) leftovers(ctx context.Context) {
	p := s3.NewListObjectsV2Paginator(r.env.S3, &s3.ListObjectsV2Input{Bucket: &r.env.Bucket, Prefix: aws.String(r.coord.StagingPrefix())})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			r.emit.Error("readback")
			break
		}
		for _, o := range page.Contents {
			if key := aws.ToString(o.Key); r.ownsStaged(key) {
				r.emit.Record(history.Leftover{T: history.KindLeftover, Kind: history.LeftoverStaged, Key: key})
				r.writePending(key)
			}
		}
	}
	mp, err := r.env.S3.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: &r.env.Bucket, Prefix: aws.String(r.coord.StagingPrefix())})
	if err == nil {
		for _, u := range mp.Uploads {
			if !r.ownsStaged(aws.ToString(u.Key)) {
				continue
			}
			r.emit.Record(history.Leftover{T: history.KindLeftover, Kind: history.LeftoverMultipart, Key: aws.ToString(u.Key)})
		}
	}
	iter := r.env.Redis.Scan(ctx, 0, r.coord.LockPattern(), 1000).Iterator()
	for iter.Next(ctx) {
		if r.ownsLock(iter.Val()) {
			r.emit.Record(history.Leftover{T: history.KindLeftover, Kind: history.LeftoverLock, Key: iter.Val()})
		}
	}
}

// writePending records where the event of a staged object left after the
// drain was (Delivery.Abandoned); the checker counts it as pending when no
// decision names the upload. A key the delivery no longer holds lost its
// event (dropped, or dead-lettered beyond what Delivery remembers) and the
// reconciler did not find it.
func (r *runner) writePending(key string) {
	user, id, err := coordinator.ParseStagingKey(strings.TrimPrefix(key, r.coord.Config().ObjectPrefix))
	if err != nil {
		return
	}
	reason := r.abandoned[key]
	if reason == "" {
		reason = history.PendingLost
	}
	r.emit.Record(history.Pending{T: history.KindPending, ID: id, User: user, Key: key, Reason: reason})
}

// ownsStaged reports whether a staging key belongs to this shard's users
// (other shards sharing the servers may still have uploads in flight).
func (r *runner) ownsStaged(key string) bool {
	user, _, err := coordinator.ParseStagingKey(strings.TrimPrefix(key, r.coord.Config().ObjectPrefix))
	return err != nil || r.ownsUser(user)
}

// ownsLock does the same for a lock key ("PREFIX{user}:lock:...").
func (r *runner) ownsLock(key string) bool {
	i, j := strings.Index(key, "{"), strings.Index(key, "}")
	return i < 0 || j < i || r.ownsUser(key[i+1:j])
}
func (r *runner) ownsUser(user string) bool {
	var u int
	if _, err := fmt.Sscanf(user, "u%d", &u); err != nil {
		return true
	}
	return r.opt.Shard.Owns(u)
}
