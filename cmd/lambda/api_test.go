package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/stormsim/stormsim/coordinator"
)

const testSecret = "a-test-secret-of-32-bytes-length"

// urlRequest is a function URL request (payload format 2.0) as the Lambda
// runtime delivers it, for GET path with an Authorization header.
func urlRequest(t *testing.T, path, auth string) []byte {
	t.Helper()
	req := events.LambdaFunctionURLRequest{Version: "2.0", RawPath: path, Headers: map[string]string{"accept": "application/json"}}
	if auth != "" {
		req.Headers["authorization"] = auth
	}
	req.RequestContext.HTTP.Method = "GET"
	req.RequestContext.HTTP.Path = path
	req.RequestContext.DomainName = "abc.lambda-url.us-east-1.on.aws"
	b, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestResultAPI_FunctionURL: the result API answers function URL requests
// as it answers HTTP: the decided result to its user's token, pending while
// staged, 404 for no such upload, 401 without a valid token.
func TestResultAPI_FunctionURL(t *testing.T) {
	f := newFakes(t)
	f.stage("alice", "put-1", "notes.txt", false)
	payload, err := os.ReadFile(filepath.Join("testdata", "s3-put.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.invoke(payload); err != nil {
		t.Fatal(err)
	}
	f.stage("alice", "waiting-1", "later.txt", false) // staged, no event yet

	env := maps(f.env)
	env["STORMSIM_ROLE"], env["STORMSIM_TOKEN_SECRET"] = roleResultAPI, testSecret
	fn, closeFn, err := entry(context.Background(), func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	defer closeFn()
	lh := lambda.NewHandler(fn)
	token := "Bearer " + coordinator.Tokens{Secret: []byte(testSecret)}.Token("alice")
	tests := []struct {
		name, path, auth string
		code             int
		body             string
	}{
		{"committed", "/v1/uploads/put-1", token, 200, `"state":"committed"`},
		{"staged, not decided", "/v1/uploads/waiting-1", token, 200, `"state":"pending"`},
		{"no such upload", "/v1/uploads/none-1", token, 404, "no such upload"},
		{"no token", "/v1/uploads/put-1", "", 401, "bearer token"},
		{"another user's token", "/v1/uploads/put-1", "Bearer " + coordinator.Tokens{Secret: []byte(testSecret)}.Token("bob"), 404, "no such upload"},
		{"a token of another secret", "/v1/uploads/put-1", "Bearer " + coordinator.Tokens{Secret: []byte("other-secret-16bytes")}.Token("alice"), 401, "bearer token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := lh.Invoke(context.Background(), urlRequest(t, tt.path, tt.auth))
			if err != nil {
				t.Fatal(err)
			}
			var resp events.LambdaFunctionURLResponse
			if err := json.Unmarshal(out, &resp); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.code || !strings.Contains(resp.Body, tt.body) {
				t.Errorf("%d %s, want %d with %q", resp.StatusCode, resp.Body, tt.code, tt.body)
			}
			if resp.Headers["content-type"] != "application/json" {
				t.Errorf("content-type %q", resp.Headers["content-type"])
			}
		})
	}
}

func TestEntry_Config(t *testing.T) {
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	base := map[string]string{"STORMSIM_BUCKET": "b", "STORMSIM_REDIS_URL": "redis://127.0.0.1:1"}
	for name, extra := range map[string]map[string]string{
		"unknown role":         {"STORMSIM_ROLE": "gateway"},
		"api without a secret": {"STORMSIM_ROLE": roleResultAPI},
		"api with a short one": {"STORMSIM_ROLE": roleResultAPI, "STORMSIM_TOKEN_SECRET": "short"},
	} {
		t.Run(name, func(t *testing.T) {
			env := maps(base)
			for k, v := range extra {
				env[k] = v
			}
			if _, _, err := entry(context.Background(), func(k string) string { return env[k] }); err == nil {
				t.Error("no error")
			}
		})
	}
}
