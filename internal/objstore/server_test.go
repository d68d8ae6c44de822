package objstore

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

func TestOnlyPresignAuth(t *testing.T) {
	for q, want := range map[string]bool{
		"X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=k%2F20261203%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20261203T120000Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host&x-id=PutObject&X-Amz-Signature=ab": true,
		"X-Amz-Security-Token=t&X-Amz-Signature=ab": true,
		"x-id=GetObject": true,
		"X-Amz-Signature=ab&uploadId=u1&partNumber=1": false,
		"uploads":            false,
		"versionId=3":        false,
		"X-Amz-Signature":    true,
		"x-amz-signature=ab": false, // S3's names are case-sensitive; pass it on
		"&":                  false, // an empty parameter: not a presign, pass it on
	} {
		if got := onlyPresignAuth(q); got != want {
			t.Errorf("onlyPresignAuth(%q) = %v, want %v", q, got, want)
		}
	}
}

// The front hands the fake a request without the presign query and leaves
// the caller's request and any other query alone.
func TestConsumePresignQuery_Request(t *testing.T) {
	var seen string
	h := consumePresignQuery(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { seen = r.URL.RawQuery }))
	for _, tc := range []struct{ query, want string }{
		{"X-Amz-Date=20261203T120000Z&X-Amz-Signature=ab&x-id=PutObject", ""},
		{"partNumber=2&uploadId=u1&X-Amz-Signature=ab", "partNumber=2&uploadId=u1&X-Amz-Signature=ab"},
		{"", ""},
	} {
		r := httptest.NewRequest(http.MethodPut, "http://s3.local/bkt/k?"+tc.query, nil)
		h.ServeHTTP(httptest.NewRecorder(), r)
		if seen != tc.want {
			t.Errorf("query %q: the fake saw %q, want %q", tc.query, seen, tc.want)
		}
		if r.URL.RawQuery != tc.query {
			t.Errorf("query %q: the caller's request changed to %q", tc.query, r.URL.RawQuery)
		}
	}
}

// A presigned PUT with metadata, and a presigned multipart upload (whose
// query the front must leave to gofakes3), through Server end to end.
func TestServer_PresignedRequests(t *testing.T) {
	srv := httptest.NewServer(Server(New(Options{})))
	t.Cleanup(srv.Close)
	c := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), UsePathStyle: true,
		Credentials:                credentials.NewStaticCredentialsProvider("k", "s", ""),
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired})
	ctx := context.Background()
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("bkt")}); err != nil {
		t.Fatal(err)
	}
	pc := s3.NewPresignClient(c)
	send := func(method, url string, signed http.Header, body []byte) {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range signed {
			if k != "Host" {
				req.Header[k] = v
			}
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s %s: HTTP %d: %s", method, url, resp.StatusCode, b)
		}
	}

	put, err := pc.PresignPutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String("staging/u/1"),
		Metadata: map[string]string{"path": "a.txt", "sha256": "00ff"}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(put.URL, "X-Amz-Signature=") {
		t.Fatalf("not a presigned URL: %s", put.URL)
	}
	send(http.MethodPut, put.URL, put.SignedHeader, []byte("hello"))
	got, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("staging/u/1")})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(got.Body)
	got.Body.Close()
	if string(body) != "hello" || got.Metadata["path"] != "a.txt" || got.Metadata["sha256"] != "00ff" {
		t.Fatalf("object: %q, metadata %v", body, got.Metadata)
	}

	mp, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("bkt"), Key: aws.String("big")})
	if err != nil {
		t.Fatal(err)
	}
	part := bytes.Repeat([]byte("p"), 5<<20)
	up, err := pc.PresignUploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("bkt"), Key: aws.String("big"),
		UploadId: mp.UploadId, PartNumber: aws.Int32(1)})
	if err != nil {
		t.Fatal(err)
	}
	send(http.MethodPut, up.URL, up.SignedHeader, part)
	parts, err := c.ListParts(ctx, &s3.ListPartsInput{Bucket: aws.String("bkt"), Key: aws.String("big"), UploadId: mp.UploadId})
	if err != nil {
		t.Fatal(err)
	}
	if len(parts.Parts) != 1 || aws.ToInt64(parts.Parts[0].Size) != int64(len(part)) {
		t.Fatalf("presigned part not stored as a part: %+v", parts.Parts)
	}
}
