package region

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/stormsim/stormsim/coordinator"
)

// errLostRace is returned when every compare-and-write round of an attempt
// lost to a concurrent copy: the attempt is retried.
var errLostRace = errors.New("lost every conditional write to concurrent copies")

// apply is one attempt: read what the target holds, skip when it is this
// version or newer, else copy conditionally on what was read.
func (r *Replicator) apply(ctx context.Context, e Event, t Target) (Applied, error) {
	final := coordinator.FinalKey(e.User, e.Path)
	guarded := !r.disabled(GuardNewerOnly)
	conditional := guarded && !r.disabled(GuardConditionalWrite)
	for range r.cfg.MaxCAS {
		held, etag, err := r.held(ctx, t, final)
		if err != nil {
			return Applied{}, err
		}
		if guarded && held >= e.Version {
			return Applied{Outcome: OutcomeSkipped, Held: held}, nil
		}
		n, err := r.copy(ctx, e, t, final, etag, conditional)
		switch {
		case err == nil:
			return Applied{Outcome: OutcomeApplied, Held: held, Bytes: n}, nil
		case coordinator.IsPreconditionFailed(err):
			continue // another copy wrote first: read again
		default:
			return Applied{}, err
		}
	}
	return Applied{}, errLostRace
}

// held returns the version the target's final key holds (0 when absent)
// and its ETag.
func (r *Replicator) held(ctx context.Context, t Target, key string) (int64, string, error) {
	out, err := t.Store.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &t.Bucket, Key: &key})
	if coordinator.IsNotFound(err) {
		return 0, "", nil
	}
	if err != nil {
		return 0, "", fmt.Errorf("read %s in %s: %w", key, t.Name, err)
	}
	v, err := strconv.ParseInt(lower(out.Metadata)[coordinator.MetaVersion], 10, 64)
	if err != nil {
		return 0, "", fmt.Errorf("read %s in %s: bad version metadata: %w", key, t.Name, err)
	}
	etag := ""
	if out.ETag != nil {
		etag = *out.ETag
	}
	return v, etag, nil
}

// copy streams the version from the home region to the target's final
// key, conditional on etag ("": the key must not exist) when conditional.
func (r *Replicator) copy(ctx context.Context, e Event, t Target, key, etag string, conditional bool) (int64, error) {
	from := e.Key // immutable: these bytes are this version's forever
	if r.disabled(GuardVersionSource) {
		from = key // broken: home's final key moves on with each commit
	}
	src, err := r.cfg.Source.GetObject(ctx, &s3.GetObjectInput{Bucket: &r.cfg.Bucket, Key: &from})
	if err != nil {
		return 0, fmt.Errorf("read %s in %s: %w", from, r.cfg.Home, err)
	}
	defer src.Body.Close()
	in := &s3.PutObjectInput{
		Bucket: &t.Bucket, Key: &key, Body: src.Body, ContentLength: src.ContentLength,
		Metadata: map[string]string{
			coordinator.MetaVersion: strconv.FormatInt(e.Version, 10),
			coordinator.MetaSHA256:  e.SHA256,
			coordinator.MetaPath:    url.PathEscape(e.Path),
		},
	}
	if conditional {
		if etag == "" {
			in.IfNoneMatch = new("*")
		} else {
			in.IfMatch = &etag
		}
	}
	// The body is a stream: sign it as UNSIGNED-PAYLOAD instead of reading
	// it twice (the harness hashes the bytes each region serves, on every
	// device read and on the read-back, against the commit's SHA-256).
	if _, err := t.Store.PutObject(ctx, in, s3.WithAPIOptions(v4.SwapComputePayloadSHA256ForUnsignedPayloadMiddleware)); err != nil {
		return 0, fmt.Errorf("write %s in %s: %w", key, t.Name, err)
	}
	var n int64
	if src.ContentLength != nil {
		n = *src.ContentLength
	}
	return n, nil
}
