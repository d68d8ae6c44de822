// Package objstore is the embedded S3's storage: a gofakes3 backend that
// keeps objects in memory with copy-on-write bytes. A copy shares the
// source's bytes instead of duplicating them (a reference-counted blob),
// deleting or overwriting an object releases its reference, and an
// optional lifecycle rule keeps only the newest versions of each file
// under a version prefix, as an S3 lifecycle rule would.
//
// The coordinator copies every winner twice (to versions/ and to files/)
// and deletes the staged object, so with s3mem, which copies bytes, one
// upload held three copies of its content; here it holds one.
//
// Semantics differ from s3mem in two ways, both towards real S3: a PUT
// replaces an object's metadata (s3mem merges the old object's metadata
// in), and listing seeks to the prefix instead of scanning every key.
// Versioned buckets are not supported (the harness runs gofakes3 with
// versioning off).
//
// Server serves a backend as the embedded S3 endpoint: gofakes3 behind a
// front that consumes presigned requests' query-string authentication.
package objstore

import (
	"sync"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/ryszard/goskiplist/skiplist"
)

// Lifecycle bounds the versions kept under a prefix: keys
// PREFIX.../NAME/N with a decimal N are versions N of NAME, and only the
// Keep highest-numbered versions of each NAME stay; storing a lower one
// deletes it at once. Keep 0 keeps everything.
type Lifecycle struct {
	Prefix string
	Keep   int
}

// Options configure New.
type Options struct {
	Lifecycle Lifecycle
	// Now stamps LastModified (default time.Now).
	Now func() time.Time
}

// Backend is the copy-on-write store. All methods are safe for concurrent
// use; one lock guards every bucket, as in s3mem, and bodies are read
// before it is taken.
type Backend struct {
	opts Options

	mu      sync.RWMutex
	buckets map[string]*bucket
	stats   Stats // Objects, Blobs, LogicalBytes, StoredBytes, Pruned
}

var _ gofakes3.Backend = (*Backend)(nil)

// Stats is what the store holds: LogicalBytes counts every object's size,
// StoredBytes every distinct blob once (the difference is what sharing
// saved). Pruned counts versions the lifecycle rule deleted.
type Stats struct {
	Objects      int64 `json:"objects"`
	Blobs        int64 `json:"blobs"`
	LogicalBytes int64 `json:"logical_bytes"`
	StoredBytes  int64 `json:"stored_bytes"`
	Pruned       int64 `json:"pruned"`
}

// blob is an object's content, shared by every copy of it. refs is
// guarded by Backend.mu; data and hash never change.
type blob struct {
	data []byte
	hash []byte // MD5, the ETag
	refs int
}

// object is one key's current state.
type object struct {
	name     string
	blob     *blob
	meta     packedMeta
	modified time.Time
}

type bucket struct {
	name    string
	created time.Time
	objects map[string]*object
	// keys orders the keys for listing and lifecycle (values unused).
	keys *skiplist.SkipList
}

// New returns an empty store.
func New(o Options) *Backend {
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Backend{opts: o, buckets: map[string]*bucket{}}
}

// SetLifecycle replaces the version bound; it applies to objects stored
// from now on.
func (b *Backend) SetLifecycle(lc Lifecycle) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.opts.Lifecycle = lc
}

// Stats returns what the store holds now.
func (b *Backend) Stats() Stats {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.stats
}

// ListBuckets lists every bucket.
func (b *Backend) ListBuckets() ([]gofakes3.BucketInfo, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	out := make([]gofakes3.BucketInfo, 0, len(b.buckets))
	for _, bk := range b.buckets {
		out = append(out, gofakes3.BucketInfo{Name: bk.name, CreationDate: gofakes3.NewContentTime(bk.created)})
	}
	return out, nil
}

// CreateBucket creates an empty bucket.
func (b *Backend) CreateBucket(name string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buckets[name] != nil {
		return gofakes3.ResourceError(gofakes3.ErrBucketAlreadyExists, name)
	}
	b.buckets[name] = &bucket{name: name, created: b.opts.Now(), objects: map[string]*object{}, keys: skiplist.NewStringMap()}
	return nil
}

// BucketExists reports whether the bucket exists.
func (b *Backend) BucketExists(name string) (bool, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.buckets[name] != nil, nil
}

// DeleteBucket deletes an empty bucket.
func (b *Backend) DeleteBucket(name string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	bk := b.buckets[name]
	if bk == nil {
		return gofakes3.BucketNotFound(name)
	}
	if len(bk.objects) > 0 {
		return gofakes3.ResourceError(gofakes3.ErrBucketNotEmpty, name)
	}
	delete(b.buckets, name)
	return nil
}

// ForceDeleteBucket deletes a bucket and everything in it.
func (b *Backend) ForceDeleteBucket(name string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	bk := b.buckets[name]
	if bk == nil {
		return gofakes3.BucketNotFound(name)
	}
	for _, o := range bk.objects {
		b.release(o)
		b.stats.Objects--
	}
	delete(b.buckets, name)
	return nil
}
