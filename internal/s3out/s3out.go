// Package s3out keeps run folders in an S3-compatible store: simrun --out
// s3://bucket/prefix uploads the folder a run wrote, and simrun check and
// simrun report --merge bring back the folders under an s3:// prefix (one
// run, or the shard-I/ folders of a sharded run).
//
// A run writes its folder on local disk first (history.jsonl is appended
// as the run goes); the upload streams each file from disk in parts of
// PartSize, so memory stays bounded by PartSize times the upload
// concurrency whatever the history's size.
package s3out

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/stormsim/stormsim/internal/connect"
)

// ErrURL is wrapped by every error about an s3:// URL's form.
var ErrURL = errors.New("bad s3:// URL")

// Location is a folder in a bucket: the objects under Prefix + "/".
type Location struct {
	Bucket string
	// Prefix has no leading or trailing slash; "" is the bucket's root.
	Prefix string
}

// IsURL reports whether s names an S3 location (s3://...) rather than a
// local folder.
func IsURL(s string) bool { return strings.HasPrefix(s, "s3://") }

// Parse reads s3://BUCKET[/PREFIX].
func Parse(s string) (Location, error) {
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "s3" || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return Location{}, fmt.Errorf("%w: %q: want s3://BUCKET/PREFIX", ErrURL, s)
	}
	p := strings.Trim(u.Path, "/")
	if strings.Contains(p, "//") {
		return Location{}, fmt.Errorf("%w: %q: empty folder name in the prefix", ErrURL, s)
	}
	return Location{Bucket: u.Host, Prefix: p}, nil
}

// String is the location as an s3:// URL.
func (l Location) String() string {
	if l.Prefix == "" {
		return "s3://" + l.Bucket
	}
	return "s3://" + l.Bucket + "/" + l.Prefix
}

// Join is the sub-folder name of l.
func (l Location) Join(name string) Location {
	if l.Prefix == "" {
		return Location{l.Bucket, name}
	}
	return Location{l.Bucket, l.Prefix + "/" + name}
}

// dir is the listing prefix of the folder's objects.
func (l Location) dir() string {
	if l.Prefix == "" {
		return ""
	}
	return l.Prefix + "/"
}

// key is the object key of a file in the folder.
func (l Location) key(name string) string { return l.dir() + name }

// Options say which store to reach and how.
type Options struct {
	// Endpoint is an S3-compatible endpoint (path-style requests); ""
	// is AWS S3 in the configured region.
	Endpoint string
	// AllowIMDS lets the AWS SDK ask the EC2 instance metadata service for
	// credentials (off: the process reaches only the endpoints it was
	// given).
	AllowIMDS bool
	// PartSize is the size of an upload's parts (default 8 MiB, at least
	// 5 MiB): the memory an upload holds per concurrent part.
	PartSize int64
}

// NewClient is an S3 client for o, credentials from the standard AWS
// configuration chain, checked once here so a missing credential is a
// clear error naming what to set (connect.ErrNoCredentials).
func NewClient(ctx context.Context, o Options) (*s3.Client, error) {
	if o.Endpoint != "" {
		if u, err := url.Parse(o.Endpoint); err != nil || u.Host == "" || u.Scheme != "http" && u.Scheme != "https" {
			return nil, fmt.Errorf("%w: endpoint %q: want an http:// or https:// URL", ErrURL, connect.Redact(o.Endpoint))
		}
	}
	cfg, err := connect.AWSConfig(ctx, o.AllowIMDS)
	if err != nil {
		return nil, err
	}
	if err := connect.CheckCredentials(ctx, &cfg); err != nil {
		return nil, err
	}
	return s3.NewFromConfig(cfg, func(so *s3.Options) {
		if o.Endpoint != "" {
			so.BaseEndpoint = aws.String(o.Endpoint)
			so.UsePathStyle = true
		}
		// As the coordinator does: checksums only where an operation needs
		// them, which every S3-compatible server accepts.
		so.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		so.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	}), nil
}
