package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// The worked example of docs/client.md, section "Go": the text between
// the BEGIN and END markers is quoted there verbatim
// (TestClientDoc_GoExampleQuoted keeps the two equal).

// BEGIN client example

// Result is the outcome of an upload, as pushed and as polled.
type Result struct {
	ID      string `json:"id"`
	State   string `json:"state"` // pending, committed, conflict, rejected
	Version int64  `json:"version,omitempty"`
	Head    int64  `json:"head,omitempty"`
	Copy    string `json:"copy,omitempty"`
	Reason  string `json:"reason,omitempty"`
}

// HeadVersion is the version of files/{user}/{path}, 0 when the file does
// not exist: the base a device's next upload of it declares.
func HeadVersion(ctx context.Context, c *s3.Client, bucket, user, path string) (int64, error) {
	out, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &bucket, Key: aws.String("files/" + user + "/" + path)})
	var nf *types.NotFound
	if errors.As(err, &nf) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(out.Metadata["version"], 10, 64)
}

// Subscribe opens the user's push stream (Server-Sent Events) before the
// upload, so that no push can come before it listens, and sends each
// result on the returned channel.
func Subscribe(ctx context.Context, api, token string) (<-chan Result, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, api+"/v1/events", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, fmt.Errorf("events: HTTP %d", resp.StatusCode)
	}
	ch := make(chan Result, 16)
	go func() {
		defer close(ch)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() { // "event: result" then "data: {...}"; ":" lines are heartbeats
			if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				var r Result
				if json.Unmarshal([]byte(data), &r) == nil {
					ch <- r
				}
			}
		}
	}()
	return ch, nil
}

// Stage uploads content to staging/{user}/{uploadID} with a presigned PUT.
// Here the device presigns with the client it has; in production the
// service that owns the bucket's credentials presigns the same request
// (key and x-amz-meta-* headers signed in) and hands the device the URL
// and the headers to send.
func Stage(ctx context.Context, c *s3.Client, bucket, user, uploadID, path string, base int64, device string, content []byte) error {
	sum := sha256.Sum256(content)
	meta := map[string]string{
		"user":   user,
		"path":   url.PathEscape(path),
		"base":   strconv.FormatInt(base, 10),
		"device": device,
		"sha256": hex.EncodeToString(sum[:]),
	}
	key := "staging/" + user + "/" + uploadID
	ps, err := s3.NewPresignClient(c).PresignPutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: &key, Metadata: meta},
		s3.WithPresignExpires(15*time.Minute))
	if err != nil {
		return err
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPut, ps.URL, bytes.NewReader(content))
	for k, vs := range ps.SignedHeader { // the x-amz-meta-* headers must be sent as signed
		if k != "Host" {
			req.Header[k] = vs
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("staging PUT: HTTP %d: %s", resp.StatusCode, body)
	}
	return nil
}

// Await returns the upload's outcome: from the push if it comes first,
// otherwise by polling GET /v1/uploads/{id}, first after 200ms, then
// backing off by 1.5x up to 2s between polls, for at most a minute.
func Await(ctx context.Context, pushes <-chan Result, api, token, uploadID string) (Result, error) {
	wait, deadline := 200*time.Millisecond, time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		t := time.NewTimer(wait)
		select {
		case r := <-pushes:
			t.Stop()
			if r.ID == uploadID {
				return r, nil
			}
			continue // another upload of the same user
		case <-ctx.Done():
			t.Stop()
			return Result{}, ctx.Err()
		case <-t.C:
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, api+"/v1/uploads/"+uploadID, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return Result{}, err
		}
		var r Result
		err = json.NewDecoder(resp.Body).Decode(&r)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK && err == nil && r.State != "pending" {
			return r, nil
		}
		wait = min(wait*3/2, 2*time.Second)
	}
	return Result{}, fmt.Errorf("upload %s: no outcome within a minute", uploadID)
}

// END client example

// TestClientDoc_GoExample runs the guide's Go example against `simrun
// serve`, for both strategies: a new file (base 0), an edit of the head,
// a stale edit that loses, and a multipart upload whose metadata rides on
// CreateMultipartUpload; the head version read from files/ follows.
func TestClientDoc_GoExample(t *testing.T) {
	for _, strategy := range []string{"redis-lock", "s3-conditional"} {
		t.Run(strategy, func(t *testing.T) {
			svc, _ := startServeWith(t, strategy)
			ctx := context.Background()
			// Any credentials: the fake S3 checks none.
			c := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(svc.S3URL), UsePathStyle: true,
				Credentials:                credentials.NewStaticCredentialsProvider("device", "device", ""),
				RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
				ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired})
			token := svc.Tokens.Token("alice")
			sctx, cancel := context.WithCancel(ctx)
			defer cancel()
			pushes, err := Subscribe(sctx, svc.APIURL, token)
			if err != nil {
				t.Fatal(err)
			}
			const path = "docs/notes é.txt"
			step := func(id string, base int64, want string) Result {
				t.Helper()
				if err := Stage(ctx, c, svc.Bucket, "alice", id, path, base, "laptop", []byte("content of "+id)); err != nil {
					t.Fatal(err)
				}
				r, err := Await(ctx, pushes, svc.APIURL, token, id)
				if err != nil {
					t.Fatal(err)
				}
				if r.State != want {
					t.Fatalf("upload %s on base %d: %+v, want %s", id, base, r, want)
				}
				return r
			}
			head := func() int64 {
				t.Helper()
				v, err := HeadVersion(ctx, c, svc.Bucket, "alice", path)
				if err != nil {
					t.Fatal(err)
				}
				return v
			}
			if v := head(); v != 0 {
				t.Fatalf("head of a new file %d", v)
			}
			if r := step("up-1", 0, "committed"); r.Version != 1 {
				t.Errorf("first version %d", r.Version)
			}
			waitHead(t, head, 1)
			step("up-2", head(), "committed")
			waitHead(t, head, 2)
			if r := step("up-3", 1, "conflict"); r.Head != 2 || !strings.Contains(r.Copy, "conflicted copy laptop") {
				t.Errorf("stale upload: %+v", r)
			}
			// Multipart: the metadata goes on CreateMultipartUpload.
			content := bytes.Repeat([]byte("m"), 6<<20)
			sum := sha256.Sum256(content)
			key := "staging/alice/up-4"
			mp, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &svc.Bucket, Key: &key, Metadata: map[string]string{
				"user": "alice", "path": url.PathEscape(path), "base": "2", "device": "phone", "sha256": hex.EncodeToString(sum[:])}})
			if err != nil {
				t.Fatal(err)
			}
			var parts []types.CompletedPart
			for i, chunk := range [][]byte{content[:5<<20], content[5<<20:]} {
				p, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: &svc.Bucket, Key: &key, UploadId: mp.UploadId,
					PartNumber: aws.Int32(int32(i + 1)), Body: bytes.NewReader(chunk)})
				if err != nil {
					t.Fatal(err)
				}
				parts = append(parts, types.CompletedPart{ETag: p.ETag, PartNumber: aws.Int32(int32(i + 1))})
			}
			if _, err := c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: &svc.Bucket, Key: &key, UploadId: mp.UploadId,
				MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}}); err != nil {
				t.Fatal(err)
			}
			if r, err := Await(ctx, pushes, svc.APIURL, token, "up-4"); err != nil || r.State != "committed" || r.Version != 3 {
				t.Errorf("multipart upload: %+v, %v", r, err)
			}
			waitHead(t, head, 3)
		})
	}
}

// waitHead waits for files/ to show version want: with redis-lock the
// head moves in Redis before the copy to files/ lands.
func waitHead(t *testing.T, head func() int64, want int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for v := head(); v != want; v = head() {
		if time.Now().After(deadline) {
			t.Fatalf("files/ shows version %d, want %d", v, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestClientDoc_GoExampleQuoted: docs/client.md quotes the example above
// verbatim.
func TestClientDoc_GoExampleQuoted(t *testing.T) {
	src, err := os.ReadFile("client_test.go")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile("../../docs/client.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(src)
	example := strings.TrimSpace(s[strings.Index(s, "// BEGIN client example")+len("// BEGIN client example") : strings.Index(s, "// END client example")])
	if !strings.Contains(string(doc), example) {
		t.Errorf("docs/client.md does not quote the Go example of client_test.go verbatim; copy the text between the BEGIN and END markers")
	}
}

// TestClientDoc_ShellExample runs the guide's shell example (the block
// after "<!-- shell example -->") against `simrun serve` with curl.
func TestClientDoc_ShellExample(t *testing.T) {
	for _, tool := range []string{"curl", "sha256sum", "bash"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
	doc, err := os.ReadFile("../../docs/client.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)<!-- shell example -->\\s*```sh\\n(.*?)```").FindSubmatch(doc)
	if m == nil {
		t.Fatal("docs/client.md has no shell example block")
	}
	svc, _ := startServeWith(t, "redis-lock")
	dir := t.TempDir()
	cmd := exec.Command("bash", "-euo", "pipefail", "-c", string(m[1]))
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "S3="+svc.S3URL, "API="+svc.APIURL, "TOKEN="+svc.Tokens.Token("alice"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("shell example: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), `"state":"committed"`) || !strings.Contains(string(out), `"version":1`) {
		t.Errorf("the shell example did not end with a committed version 1:\n%s", out)
	}
	if !strings.Contains(strings.ToLower(string(out)), "x-amz-meta-version: 1") {
		t.Errorf("HEAD files/ did not show version 1:\n%s", out)
	}
}
