package traffic

import (
	"context"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/stormsim/stormsim/coordinator"
	"github.com/stormsim/stormsim/sim/env"
)

// fixedTimeSigner is the S3 client's default SigV4 signer (as
// s3.newDefaultV4Signer builds it) made to sign at a given instant, so the
// SDK's presigned URL can be compared with presigner's at any time.
type fixedTimeSigner struct {
	at time.Time
	v4 *v4.Signer
}

func newFixedTimeSigner(at time.Time) fixedTimeSigner {
	return fixedTimeSigner{at: at, v4: v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })}
}

func (s fixedTimeSigner) PresignHTTP(ctx context.Context, creds aws.Credentials, r *http.Request, payloadHash, service, region string, _ time.Time, optFns ...func(*v4.SignerOptions)) (string, http.Header, error) {
	return s.v4.PresignHTTP(ctx, creds, r, payloadHash, service, region, s.at, optFns...)
}

// The hand-built presigner must produce exactly the SDK's presigned PUT:
// the same URL (signature included) and the same signed headers, for
// every kind of input the devices send (hostile metadata included), other
// endpoints, regions, session credentials and a day boundary (the cached
// signing key is derived again).
func TestPresigner_Put_MatchesSDK(t *testing.T) {
	static := credentials.NewStaticCredentialsProvider("stormsim", "stormsim", "")
	session := credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "FwoGZXIvYXdz/+token=")
	noon := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	base := coordinator.Upload{ID: "up-1", User: "u1", Path: "docs/report.txt", Base: 3, Device: "d7",
		SHA256: strings.Repeat("ab", 32)}
	meta := func(u coordinator.Upload, hostile string) map[string]string {
		m := coordinator.Metadata(u)
		if hostile != "" {
			makeHostile(m, hostile)
		}
		return m
	}
	withPath := func(p string) coordinator.Upload { u := base; u.Path = p; return u }
	type step struct {
		at   time.Time
		key  string
		meta map[string]string
	}
	tests := []struct {
		name     string
		endpoint string
		region   string
		bucket   string
		creds    aws.CredentialsProvider
		steps    []step
	}{
		{name: "embedded", endpoint: "http://127.0.0.1:43821", region: "us-east-1", bucket: "stormsim", creds: static, steps: []step{
			{time.Time{}, coordinator.StagingKey("u1", "up-0"), meta(base, "")},
			{noon, coordinator.StagingKey("u1", "up-1"), meta(base, "")},
			{noon.Add(time.Second), coordinator.StagingKey("u1", "up-2"), meta(withPath("a dir/ü é+x%20.txt"), "")},
			{noon, coordinator.StagingKey("u1", "up-3"), map[string]string{"user": "  two  spaces  inside ", "path": "\ttab", "empty": ""}},
			{noon, "weird key/ä b+c~d(e)", meta(base, "")},
		}},
		{name: "hostile", endpoint: "http://127.0.0.1:9000", region: "us-east-1", bucket: "stormsim", creds: static, steps: func() []step {
			var s []step
			// sim/fault's variants, as makeHostile applies them.
			for _, h := range []string{"path-traversal", "absolute-path", "control-character", "oversized-path",
				"too-much-metadata", "missing-metadata", "other-user", "sha256-mismatch"} {
				s = append(s, step{noon, coordinator.StagingKey("u1", "h-"+h), meta(base, h)})
			}
			return s
		}()},
		{name: "day boundary", endpoint: "http://localhost:9000", region: "eu-west-2", bucket: "my.bucket", creds: static, steps: []step{
			{time.Date(2026, 12, 2, 23, 59, 59, 0, time.UTC), "staging/u/a", meta(base, "")},
			{time.Date(2026, 12, 3, 0, 0, 1, 0, time.UTC), "staging/u/b", meta(base, "")},
			{time.Date(2026, 12, 3, 0, 0, 1, 0, time.FixedZone("x", 5*3600)), "staging/u/c", meta(base, "")},
		}},
		{name: "default ports", endpoint: "http://127.0.0.1:80", region: "us-east-1", bucket: "stormsim", creds: static, steps: []step{
			{noon, "staging/u1/x", meta(base, "")},
		}},
		{name: "default https port", endpoint: "https://[::1]:443", region: "us-east-1", bucket: "stormsim", creds: static, steps: []step{
			{noon, "staging/u1/x", meta(base, "")},
		}},
		{name: "session token and path prefix", endpoint: "https://s3.example.test:8443/base/", region: "ap-south-1", bucket: "b", creds: session, steps: []step{
			{noon, "staging/u1/x", meta(base, "")},
			{time.Time{}, "staging/u1/y", meta(withPath("x y"), "")},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := env.NewS3Client(tt.endpoint, tt.region, tt.creds, http.DefaultClient)
			p := newPresigner(c, tt.bucket)
			if p == nil {
				t.Fatalf("newPresigner(%s) = nil, want a presigner", tt.endpoint)
			}
			for i, st := range tt.steps {
				in := &s3.PutObjectInput{Bucket: &tt.bucket, Key: &st.key, Metadata: st.meta}
				var want *v4.PresignedHTTPRequest
				if st.at.IsZero() {
					// The SDK's presign client as the devices had it, at
					// the time it signed.
					want = presignSDK(t, s3.NewPresignClient(c), in)
					at, err := time.Parse("20060102T150405Z", queryParam(t, want.URL, "X-Amz-Date"))
					if err != nil {
						t.Fatal(err)
					}
					p.now = func() time.Time { return at }
				} else {
					want = presignSDK(t, s3.NewPresignClient(c, func(o *s3.PresignOptions) { o.Presigner = newFixedTimeSigner(st.at) }), in)
					p.now = func() time.Time { return st.at }
				}
				h := http.Header{}
				got, err := p.put(context.Background(), st.key, st.meta, h)
				if err != nil {
					t.Fatal(err)
				}
				if got != want.URL {
					t.Errorf("step %d: URL\n got %s\nwant %s", i, got, want.URL)
				}
				wantH := http.Header{}
				for k, vs := range want.SignedHeader {
					if k != "Host" {
						wantH[k] = vs
					}
				}
				gotH := http.Header{}
				for k, vs := range h {
					gotH[textproto.CanonicalMIMEHeaderKey(k)] = vs
				}
				if len(gotH) != len(wantH) {
					t.Errorf("step %d: %d signed headers, want %d: %v vs %v", i, len(gotH), len(wantH), gotH, wantH)
				}
				for k, vs := range wantH {
					if g := gotH[k]; len(g) != len(vs) || (len(g) > 0 && g[0] != vs[0]) {
						t.Errorf("step %d: header %s = %q, want %q", i, k, g, vs)
					}
				}
			}
		})
	}
}

func presignSDK(t *testing.T, c *s3.PresignClient, in *s3.PutObjectInput) *v4.PresignedHTTPRequest {
	t.Helper()
	r, err := c.PresignPutObject(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func queryParam(t *testing.T, rawURL, name string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get(name)
}

func TestNewPresigner_Unsupported_Nil(t *testing.T) {
	creds := credentials.NewStaticCredentialsProvider("a", "b", "")
	virtual := s3.New(s3.Options{Region: "us-east-1", Credentials: creds, BaseEndpoint: aws.String("http://127.0.0.1:1")})
	if p := newPresigner(virtual, "b"); p != nil {
		t.Errorf("newPresigner(virtual-hosted style) = %+v, want nil (the SDK presigns)", p)
	}
	noEndpoint := s3.New(s3.Options{Region: "us-east-1", Credentials: creds, UsePathStyle: true})
	if p := newPresigner(noEndpoint, "b"); p != nil {
		t.Errorf("newPresigner(AWS endpoint) = %+v, want nil (the SDK presigns)", p)
	}
}
