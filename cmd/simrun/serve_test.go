package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stormsim/stormsim/coordinator"
	"github.com/stormsim/stormsim/sim/env"
)

// startServe runs `simrun serve` in-process on free loopback ports.
func startServe(t *testing.T) (*env.Service, *bytes.Buffer) {
	t.Helper()
	return startServeWith(t, "")
}

// startServeWith is startServe with a coordinator strategy ("" = default).
func startServeWith(t *testing.T, strategy string) (*env.Service, *bytes.Buffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan *env.Service, 1)
	done := make(chan error, 1)
	var out bytes.Buffer
	go func() {
		done <- runServe(ctx, serveOptions{s3Addr: "127.0.0.1:0", apiAddr: "127.0.0.1:0", bucket: "stormsim",
			users: "alice,bob", secret: "test-secret", concurrency: 4, strategy: strategy}, &out, func(s *env.Service) { ready <- s })
	}()
	select {
	case s := <-ready:
		t.Cleanup(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("serve: %v", err)
			}
		})
		return s, &out
	case err := <-done:
		cancel()
		t.Fatalf("serve did not start: %v", err)
	case <-time.After(10 * time.Second):
		cancel()
		t.Fatal("serve did not start in 10s")
	}
	return nil, nil
}

// TestServe_S3cmdUpload uploads through `simrun serve` with Debian's s3cmd,
// then learns the outcome with a plain HTTP client, by push (SSE) and by
// polling.
func TestServe_S3cmdUpload(t *testing.T) {
	s3cmd, err := exec.LookPath("s3cmd")
	if err != nil {
		t.Skip("s3cmd not installed (apt-get install -y s3cmd; .ci/run does)")
	}
	svc, out := startServe(t)
	token := svc.Tokens.Token("alice")
	if !strings.Contains(out.String(), token) || !strings.Contains(out.String(), svc.S3URL) {
		t.Errorf("the banner does not show the token and endpoint:\n%s", out)
	}

	// Listen for pushes first, as a client would.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, svc.APIURL+"/v1/events", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	stream, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Body.Close()
	pushes := make(chan coordinator.Result, 4)
	go func() {
		sc := bufio.NewScanner(stream.Body)
		for sc.Scan() {
			if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				var r coordinator.Result
				if json.Unmarshal([]byte(data), &r) == nil {
					pushes <- r
				}
			}
		}
	}()

	dir := t.TempDir()
	host := strings.TrimPrefix(svc.S3URL, "http://")
	cfg := filepath.Join(dir, "s3cfg")
	if err := os.WriteFile(cfg, []byte("[default]\naccess_key = stormsim\nsecret_key = stormsim\nhost_base = "+host+
		"\nhost_bucket = "+host+"\nuse_https = False\nbucket_location = us-east-1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	body := []byte("meeting notes, edited on a laptop\n")
	file := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(file, body, 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(body)
	id := "up-s3cmd-1"
	cmd := exec.CommandContext(ctx, s3cmd, "-c", cfg, "put", file, "s3://stormsim/staging/alice/"+id,
		"--add-header=x-amz-meta-user:alice", "--add-header=x-amz-meta-path:docs/notes.txt",
		"--add-header=x-amz-meta-base:0", "--add-header=x-amz-meta-device:laptop",
		"--add-header=x-amz-meta-sha256:"+hex.EncodeToString(sum[:]))
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("s3cmd put: %v\n%s", err, b)
	}

	select {
	case r := <-pushes:
		if r.ID != id || r.State != coordinator.StateCommitted || r.Version != 1 {
			t.Errorf("push %+v", r)
		}
	case <-ctx.Done():
		t.Fatal("no push arrived")
	}
	// Poll with a plain HTTP client.
	var res coordinator.Result
	for res.State != coordinator.StateCommitted {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, svc.APIURL+"/v1/uploads/"+id, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		err = json.NewDecoder(resp.Body).Decode(&res)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("poll: status %d, %v", resp.StatusCode, err)
		}
		if res.State == coordinator.StatePending {
			time.Sleep(20 * time.Millisecond)
			continue
		}
		if res.State != coordinator.StateCommitted || res.Version != 1 || res.Path != "docs/notes.txt" {
			t.Fatalf("result %+v", res)
		}
	}
	// Another user's token does not see alice's upload.
	req, _ = http.NewRequest(http.MethodGet, svc.APIURL+"/v1/uploads/"+id, nil)
	req.Header.Set("Authorization", "Bearer "+svc.Tokens.Token("bob"))
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("bob got %d for alice's upload", resp.StatusCode)
		}
	}
	// The committed file reads back through s3cmd.
	got := filepath.Join(dir, "back.txt")
	if b, err := exec.CommandContext(ctx, s3cmd, "-c", cfg, "get", "s3://stormsim/files/alice/docs/notes.txt", got).CombinedOutput(); err != nil {
		t.Fatalf("s3cmd get: %v\n%s", err, b)
	}
	if b, _ := os.ReadFile(got); !bytes.Equal(b, body) {
		t.Errorf("read back %q", b)
	}
}

func TestServe_BadUsers(t *testing.T) {
	err := runServe(context.Background(), serveOptions{users: "alice,../x"}, &bytes.Buffer{}, nil)
	if exitCode(err) != exitUsage {
		t.Errorf("err %v, want a usage error", err)
	}
}
