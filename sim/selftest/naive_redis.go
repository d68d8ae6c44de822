package selftest

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/redis/go-redis/v9"

	"github.com/stormsim/stormsim/coordinator"
)

// copyName reserves the loser's conflicted-copy name, once per upload.
func (n *naive) copyName(ctx context.Context, u coordinator.Upload) (string, error) {
	full := coordinator.ConflictName(u.Path, u.Device, n.cfg.Now().UTC().Format("2006-01-02"), 1)
	ext := ""
	if i := strings.LastIndex(full, ")"); i >= 0 {
		full, ext = full[:i+1], full[i+1:]
	}
	tag := n.cfg.Prefix + "{" + u.User + "}:naive-"
	name, err := naiveCopyName.Run(ctx, n.env.Redis, []string{tag + "copyof:" + u.ID, tag + "copies"}, full, ext,
		int64(n.cfg.ResultTTL/time.Second)).Text()
	if err != nil {
		return "", fmt.Errorf("reserve conflicted copy name: %w", err)
	}
	return name, nil
}

func (n *naive) copy(ctx context.Context, src, dst string, meta map[string]string) error {
	source := strings.ReplaceAll(url.PathEscape(n.cfg.Bucket+"/"+src), "%2F", "/")
	_, err := n.env.S3.CopyObject(ctx, &s3.CopyObjectInput{Bucket: &n.cfg.Bucket, Key: &dst, CopySource: &source,
		Metadata: meta, MetadataDirective: types.MetadataDirectiveReplace})
	if err != nil {
		return fmt.Errorf("copy to %s: %w", dst, err)
	}
	return nil
}

// finish deletes the staged object, unless err says the invocation failed.
func (n *naive) finish(ctx context.Context, staged string, err error) error {
	if err != nil {
		return err
	}
	if _, err := n.env.S3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &n.cfg.Bucket, Key: &staged}); err != nil && !coordinator.IsNotFound(err) {
		return fmt.Errorf("delete staged: %w", err)
	}
	return nil
}

func finalMeta(u coordinator.Upload, version int64) map[string]string {
	return map[string]string{coordinator.MetaVersion: strconv.FormatInt(version, 10), coordinator.MetaUpload: u.ID,
		coordinator.MetaSHA256: u.SHA256, coordinator.MetaBase: strconv.FormatInt(u.Base, 10), coordinator.MetaDevice: u.Device}
}

func str(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return ""
}

// The naive handler's scripts. KEYS and ARGV are listed above each.

// KEYS: lock, fence, result    ARGV: token ("" = no lock), ttl-ms, check-done
var naiveLock = redis.NewScript(`
if ARGV[3] == '1' and redis.call('EXISTS', KEYS[3]) == 1 then return {'done'} end
if ARGV[1] ~= '' and not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return {'busy'} end
return {'ok', redis.call('INCR', KEYS[2])}
`)

// KEYS: fence, head, commit    ARGV: fence, base, version, upload, sha256, record
var naiveCommit = redis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 'stale' end
if tonumber(redis.call('HGET', KEYS[2], 'v') or '0') ~= tonumber(ARGV[2]) then return 'moved' end
redis.call('HSET', KEYS[2], 'v', ARGV[3], 'id', ARGV[4], 'sha', ARGV[5])
redis.call('SET', KEYS[3], ARGV[6])
return 'ok'
`)

// KEYS: result, lock    ARGV: json, token, ttl-s, channel, mode (once | push-always | overwrite)
var naiveResult = redis.NewScript(`
local new
if ARGV[5] == 'overwrite' then
  new = redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[3])
else
  new = redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[3])
end
if new or ARGV[5] == 'push-always' then redis.call('PUBLISH', ARGV[4], ARGV[1]) end
if ARGV[2] ~= '' and redis.call('GET', KEYS[2]) == ARGV[2] then redis.call('DEL', KEYS[2]) end
if new then return 1 end
return 0
`)

// KEYS: lock    ARGV: token
var naiveRelease = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`)

// KEYS: copyof, copies    ARGV: stem, ext, ttl-s
var naiveCopyName = redis.NewScript(`
local old = redis.call('GET', KEYS[1])
if old then return old end
for n = 1, 100000 do
  local name = ARGV[1] .. ARGV[2]
  if n > 1 then name = ARGV[1] .. ' (' .. n .. ')' .. ARGV[2] end
  if redis.call('SADD', KEYS[2], name) == 1 then
    redis.call('SET', KEYS[1], name, 'EX', ARGV[3])
    return name
  end
end
return redis.error_reply('no free conflicted-copy name')
`)
