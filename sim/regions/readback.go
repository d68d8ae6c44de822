package regions

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/stormsim/stormsim/coordinator"
	"github.com/stormsim/stormsim/sim/history"
)

// readBack records, after the drain, every touched file as each region's
// storage holds it (region_final, and final for the home region), each
// conflicted copy, and what should not be left: staged objects (pending)
// and locks.
func (r *run) readBack(ctx context.Context, homes []int) {
	files := r.rec.touchedFiles()
	for _, k := range files {
		home := homes[userIndex(k.user)]
		for i, s := range r.sites {
			rf := history.RegionFinal{T: history.KindRegionFinal, Region: s.name, Home: r.net.names[home], User: k.user, Path: k.path}
			meta, sum, size, err := r.object(ctx, i, coordinator.FinalKey(k.user, k.path))
			if err == nil {
				rf.Found, rf.SHA256, rf.Size = true, sum, size
				rf.Version, _ = strconv.ParseInt(meta[coordinator.MetaVersion], 10, 64)
			}
			r.rec.write(rf)
			if i == home {
				head, _ := s.coord.HeadVersion(ctx, k.user, k.path)
				r.rec.write(history.Final{T: history.KindFinal, User: k.user, Path: k.path, Version: rf.Version,
					SHA256: rf.SHA256, Head: head})
			}
		}
	}
	for _, c := range r.rec.conflicts() {
		cp := history.Copy{T: history.KindCopy, ID: c.ID, Key: c.Copy}
		if _, sum, _, err := r.object(ctx, homes[userIndex(c.User)], c.Copy); err == nil {
			cp.Found, cp.SHA256 = true, sum
		}
		r.rec.write(cp)
	}
	for _, s := range r.sites {
		r.leftovers(ctx, s)
	}
}

// object reads a key from region i's storage: its metadata, the SHA-256
// and length of its bytes.
func (r *run) object(ctx context.Context, i int, key string) (map[string]string, string, int64, error) {
	return getObject(ctx, r.sites[i].local, key)
}

// getObject reads a key with client c: its metadata, the SHA-256 and length of
// the bytes served (never the SHA-256 the metadata claims).
func getObject(ctx context.Context, c *s3.Client, key string) (map[string]string, string, int64, error) {
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: new(bucket), Key: &key})
	if err != nil {
		return nil, "", 0, err
	}
	defer out.Body.Close()
	h := sha256.New()
	n, err := io.Copy(h, out.Body)
	if err != nil {
		return nil, "", 0, err
	}
	return out.Metadata, hex.EncodeToString(h.Sum(nil)), n, nil
}

// leftovers records staged objects still in region s (pending uploads:
// their events ran out of retries and the sweep could not decide them)
// and locks still held.
func (r *run) leftovers(ctx context.Context, s *site) {
	p := s3.NewListObjectsV2Paginator(s.local, &s3.ListObjectsV2Input{Bucket: new(bucket), Prefix: new(coordinator.StagingPrefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			break
		}
		for _, o := range page.Contents {
			key := *o.Key
			user, id, err := coordinator.ParseStagingKey(key)
			if err != nil {
				continue
			}
			r.rec.write(history.Pending{T: history.KindPending, ID: id, User: user, Key: key, Reason: history.PendingDead})
		}
	}
	keys, err := s.rdb.Keys(ctx, s.coord.LockPattern()).Result()
	if err == nil {
		slices.Sort(keys)
		for _, k := range keys {
			r.rec.write(history.Leftover{T: history.KindLeftover, Kind: history.LeftoverLock, Key: k})
		}
	}
}

// userIndex is the number in a user name "u00042".
func userIndex(user string) int {
	n, _ := strconv.Atoi(strings.TrimPrefix(user, "u"))
	return n
}
