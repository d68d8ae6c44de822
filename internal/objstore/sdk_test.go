package objstore

import (
	"context"
	"crypto/md5"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/stormsim/stormsim/internal/testsrv"
)

// sdkClient serves backend through gofakes3 and returns an AWS SDK client
// for it.
func sdkClient(t *testing.T, backend gofakes3.Backend) *s3.Client {
	t.Helper()
	return testsrv.NewFakeS3(t, backend, nil, "bkt").Client
}

// listAll lists through the SDK's paginator and renders what it saw.
func listAll(t *testing.T, c *s3.Client, prefix, delim string, pageSize int32) string {
	t.Helper()
	in := &s3.ListObjectsV2Input{Bucket: aws.String("bkt"), MaxKeys: aws.Int32(pageSize)}
	if prefix != "" {
		in.Prefix = aws.String(prefix)
	}
	if delim != "" {
		in.Delimiter = aws.String(delim)
	}
	var out []string
	p := s3.NewListObjectsV2Paginator(c, in)
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatalf("list %q/%q: %v", prefix, delim, err)
		}
		for _, o := range page.Contents {
			out = append(out, fmt.Sprintf("%s:%d:%s", *o.Key, *o.Size, *o.ETag))
		}
		for _, cp := range page.CommonPrefixes {
			out = append(out, "prefix "+*cp.Prefix)
		}
	}
	slices.Sort(out)
	return strings.Join(out, "\n")
}

// TestBackend_SDK_MatchesS3mem drives objstore and s3mem through gofakes3
// with the AWS SDK and compares what listings, reads and copies return.
func TestBackend_SDK_MatchesS3mem(t *testing.T) {
	ctx := context.Background()
	cow, mem := sdkClient(t, New(Options{})), sdkClient(t, s3mem.New())
	keys := []string{"files/u/a", "files/u/b", "files/v/a", "staging/u/1", "staging/u/2", "versions/u/p/1", "versions/u/p/2", "z"}
	for _, c := range []*s3.Client{cow, mem} {
		for _, k := range keys {
			if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String(k),
				Body: strings.NewReader("body of " + k), Metadata: map[string]string{"k": k}}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("bkt"), Key: aws.String("files/u/c"),
			CopySource: aws.String("bkt/staging/u/1"), MetadataDirective: "REPLACE", Metadata: map[string]string{"version": "3"}}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("bkt"), Key: aws.String("staging/u/1")}); err != nil {
			t.Fatal(err)
		}
	}
	for _, q := range []struct {
		prefix, delim string
		page          int32
	}{
		{"", "", 1000}, {"", "", 2}, {"files/", "", 1}, {"files/", "/", 1000}, {"", "/", 1000},
		{"staging/u/", "", 1}, {"versions/u/p/", "", 3}, {"nothing/", "", 10}, {"files/u/b", "", 10},
	} {
		got, want := listAll(t, cow, q.prefix, q.delim, q.page), listAll(t, mem, q.prefix, q.delim, q.page)
		if got != want {
			t.Errorf("list prefix %q delim %q page %d:\nobjstore:\n%s\ns3mem:\n%s", q.prefix, q.delim, q.page, got, want)
		}
	}
	for _, c := range []*s3.Client{cow, mem} {
		out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("files/u/c")})
		if err != nil {
			t.Fatal(err)
		}
		out.Body.Close()
		if out.Metadata["version"] != "3" || *out.ContentLength != int64(len("body of staging/u/1")) {
			t.Fatalf("copy: metadata %v, length %d", out.Metadata, *out.ContentLength)
		}
	}
}

// The ETag a PUT answers, and the one a HEAD of the stored object
// answers later (the backend's own hash, taken from gofakes3's hashing
// reader), are the body's MD5.
func TestPutObject_ETagIsMD5(t *testing.T) {
	c := sdkClient(t, New(Options{}))
	ctx := context.Background()
	for _, body := range []string{"", "x", strings.Repeat("stormsim", 4096)} {
		put, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k"), Body: strings.NewReader(body)})
		if err != nil {
			t.Fatal(err)
		}
		head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k")})
		if err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprintf(`"%x"`, md5.Sum([]byte(body)))
		if aws.ToString(put.ETag) != want || aws.ToString(head.ETag) != want {
			t.Errorf("%d bytes: PUT ETag %s, HEAD ETag %s, want %s", len(body), aws.ToString(put.ETag), aws.ToString(head.ETag), want)
		}
	}
}
