package s3out

import (
	"context"
	"errors"
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	tmtypes "github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// ShardPrefix starts the folder name of each shard of a sharded run
// (shard-0, shard-1, ...), as the Indexed Job names them.
const ShardPrefix = "shard-"

// Store moves run folders to and from one S3-compatible store.
type Store struct {
	s3 *s3.Client
	tm *transfermanager.Client
}

// New is a Store over c (see NewClient).
func New(c *s3.Client, o Options) *Store {
	part := o.PartSize
	if part == 0 {
		part = 8 << 20
	}
	tm := transfermanager.New(c, func(to *transfermanager.Options) {
		to.PartSizeBytes = part
		to.MultipartUploadThreshold = part
		to.Concurrency = 4
		to.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		to.ChecksumAlgorithm = tmtypes.ChecksumAlgorithm("")
		to.DisableChecksumValidation = true
	})
	return &Store{s3: c, tm: tm}
}

// Probe proves an object can be written at to (and removes it), before a
// run starts: a run whose output cannot be stored should not load the
// system first.
func (s *Store) Probe(ctx context.Context, to Location) error {
	key := to.key(".probe")
	if _, err := s.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: &to.Bucket, Key: &key, Body: strings.NewReader("")}); err != nil {
		return fmt.Errorf("write %s: %w", to, err)
	}
	if _, err := s.s3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &to.Bucket, Key: &key}); err != nil {
		return fmt.Errorf("remove probe from %s: %w", to, err)
	}
	return nil
}

// Upload copies every file under dir (sub-folders too) to the folder to,
// streaming each from disk in parts. It returns the number of objects
// written.
func (s *Store) Upload(ctx context.Context, dir string, to Location) (int64, error) {
	out, err := s.tm.UploadDirectory(ctx, &transfermanager.UploadDirectoryInput{
		Bucket: &to.Bucket, Source: aws.String(dir), Recursive: aws.Bool(true), KeyPrefix: aws.String(to.Prefix),
	})
	if err != nil {
		return 0, fmt.Errorf("upload %s to %s: %w", dir, to, err)
	}
	if out.ObjectsFailed > 0 {
		return out.ObjectsUploaded, fmt.Errorf("upload %s to %s: %d file(s) failed", dir, to, out.ObjectsFailed)
	}
	return out.ObjectsUploaded, nil
}

// Fetch downloads the named files of the folder from into the local
// folder dir (created if missing). A named file that is not there is an
// error wrapping ErrMissing.
func (s *Store) Fetch(ctx context.Context, from Location, dir string, names ...string) error {
	want := map[string]bool{}
	for _, n := range names {
		want[from.key(n)] = true
	}
	got := map[string]bool{}
	filter := objectFilter(func(o s3types.Object) bool {
		k := aws.ToString(o.Key)
		got[k] = got[k] || want[k]
		return want[k]
	})
	out, err := s.tm.DownloadDirectory(ctx, &transfermanager.DownloadDirectoryInput{
		Bucket: &from.Bucket, Destination: aws.String(dir), KeyPrefix: aws.String(from.dir()), Filter: filter,
	})
	if err != nil {
		return fmt.Errorf("download %s: %w", from, err)
	}
	if out.ObjectsFailed > 0 {
		return fmt.Errorf("download %s: %d file(s) failed", from, out.ObjectsFailed)
	}
	for _, n := range names {
		if !got[from.key(n)] {
			return fmt.Errorf("download %s: %w: %s", from, ErrMissing, n)
		}
	}
	return nil
}

// ErrMissing is wrapped when a folder lacks a file or holds no run.
var ErrMissing = errors.New("not found")

// objectFilter adapts a func to transfermanager.ObjectFilter. The
// downloader lists from one goroutine, so the func needs no lock.
type objectFilter func(s3types.Object) bool

func (f objectFilter) FilterObject(o s3types.Object) bool { return f(o) }

// Runs lists the run folders at: the shard-I/ folders under it in the
// order of I (a sharded run), or at itself when it holds a run's
// results.json. A location holding neither is an error wrapping
// ErrMissing.
func (s *Store) Runs(ctx context.Context, at Location) ([]Location, error) {
	type shard struct {
		i   int
		loc Location
	}
	var shards []shard
	hasResults := false
	p := s3.NewListObjectsV2Paginator(s.s3, &s3.ListObjectsV2Input{Bucket: &at.Bucket, Prefix: aws.String(at.dir()), Delimiter: aws.String("/")})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", at, err)
		}
		for _, cp := range page.CommonPrefixes {
			name := path.Base(strings.TrimSuffix(aws.ToString(cp.Prefix), "/"))
			if i, ok := ShardIndex(name); ok {
				shards = append(shards, shard{i, at.Join(name)})
			}
		}
		for _, o := range page.Contents {
			hasResults = hasResults || aws.ToString(o.Key) == at.key("results.json")
		}
	}
	if len(shards) == 0 {
		if hasResults {
			return []Location{at}, nil
		}
		return nil, fmt.Errorf("list %s: %w: neither a results.json nor %s*/ folders", at, ErrMissing, ShardPrefix)
	}
	sort.Slice(shards, func(a, b int) bool { return shards[a].i < shards[b].i })
	out := make([]Location, len(shards))
	for i, sh := range shards {
		out[i] = sh.loc
	}
	return out, nil
}

// ShardIndex reads I from a folder name shard-I (I a decimal without
// leading zeros).
func ShardIndex(name string) (int, bool) {
	v, ok := strings.CutPrefix(name, ShardPrefix)
	if !ok {
		return 0, false
	}
	i, err := strconv.Atoi(v)
	if err != nil || i < 0 || strconv.Itoa(i) != v {
		return 0, false
	}
	return i, true
}
