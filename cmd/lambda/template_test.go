package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/redis/go-redis/v9"
	"gopkg.in/yaml.v3"

	"github.com/stormsim/stormsim/coordinator"
)

// The deployment template (AWS SAM) these tests hold to the code.
const templatePath = "../../deploy/aws/template.yaml"

// functions are the template's Lambda functions: the Redis user each
// connects as, and the object keys its S3 statements cover.
var functions = []struct{ resource, redisUser, objects string }{
	{"CoordinatorFunction", "RedisCoordinatorUser", "*"},
	{"ResultApiFunction", "RedisApiUser", "staging/*"},
}

// notDeployed are the variables cmd/lambda reads that the template leaves
// unset on purpose, each with why.
var notDeployed = map[string]string{
	"STORMSIM_S3_ENDPOINT": "an S3-compatible endpoint for tests; deployed, the function talks to AWS S3",
	"STORMSIM_EC2_IMDS":    "Lambda has no instance metadata service; the execution role's credentials come in the environment",
	"STORMSIM_KEEP_VERSIONS": "the stack's bucket has no rule expiring versions/ objects, so every version stays (the default); " +
		"set it only beside such a rule",
}

// s3Actions are the IAM actions each S3 operation needs: the methods of
// coordinator.ObjectStore, and the operations the tests see a function
// send. An operation without an entry fails the policy test.
var s3Actions = map[string][]string{
	"GetObject":    {"s3:GetObject"},
	"HeadObject":   {"s3:GetObject"},
	"PutObject":    {"s3:PutObject"},
	"CopyObject":   {"s3:GetObject", "s3:PutObject"}, // read the source, write the target
	"DeleteObject": {"s3:DeleteObject"},
}

// optionalRedis are commands the client sends that the ACLs leave out on
// purpose, each with why.
var optionalRedis = map[string]string{
	"client|maint_notifications": "go-redis asks for maintenance notifications when it connects and, refused (a Redis error such as NOPERM), carries on without (ModeAuto); Redis does not know the subcommand, so an ACL naming it would not load",
}

// node finds the value at path in a YAML mapping, or fails.
func node(t *testing.T, n *yaml.Node, path ...string) *yaml.Node {
	t.Helper()
	if n.Kind == yaml.DocumentNode {
		n = n.Content[0]
	}
	for _, k := range path {
		var next *yaml.Node
		for i := 0; n.Kind == yaml.MappingNode && i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == k {
				next = n.Content[i+1]
			}
		}
		if next == nil {
			t.Fatalf("%s: no %s", templatePath, strings.Join(path, "."))
		}
		n = next
	}
	return n
}

func loadTemplate(t *testing.T) *yaml.Node {
	t.Helper()
	b, err := os.ReadFile(templatePath)
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("%s: %v", templatePath, err)
	}
	return &doc
}

func strs(n *yaml.Node) []string {
	if n.Kind == yaml.ScalarNode {
		return []string{n.Value}
	}
	var out []string
	for _, c := range n.Content {
		out = append(out, c.Value)
	}
	return out
}

func maps(m map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = v
	}
	return out
}

func sorted(set map[string]bool) []string {
	var out []string
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestTemplate_Env: each function's environment sets every variable
// cmd/lambda requires in its role, and only variables it reads; the ones
// it reads and the template leaves out are listed in notDeployed, with a
// reason.
func TestTemplate_Env(t *testing.T) {
	doc := loadTemplate(t)
	for _, fn := range functions {
		t.Run(fn.resource, func(t *testing.T) {
			f := newFakes(t)
			vars := node(t, doc, "Resources", fn.resource, "Properties", "Environment", "Variables")
			env := maps(f.env)
			set := map[string]bool{}
			for i := 0; i < len(vars.Content); i += 2 {
				k, v := vars.Content[i].Value, vars.Content[i+1]
				set[k] = true
				if v.Tag == "!!str" { // a literal, such as the role
					env[k] = v.Value
				}
			}
			if set["STORMSIM_TOKEN_SECRET"] {
				env["STORMSIM_TOKEN_SECRET"] = testSecret
			}
			var mu sync.Mutex
			read := map[string]bool{}
			_, closeFn, err := entry(context.Background(), func(k string) string {
				mu.Lock()
				read[k] = true
				mu.Unlock()
				return env[k]
			})
			if err != nil {
				t.Fatal(err)
			}
			closeFn()
			required := map[string]bool{}
			for k := range env {
				without := maps(env)
				delete(without, k)
				if _, closeFn, err := entry(context.Background(), func(n string) string { return without[n] }); err != nil {
					required[k] = true
				} else {
					closeFn()
				}
			}
			for k := range set {
				if !read[k] {
					t.Errorf("the template sets %s, which cmd/lambda does not read in this role", k)
				}
			}
			for k := range required {
				if !set[k] && notDeployed[k] == "" {
					t.Errorf("cmd/lambda requires %s; the template does not set it", k)
				}
			}
			for k := range read {
				if !set[k] && notDeployed[k] == "" {
					t.Errorf("cmd/lambda reads %s; the template neither sets it nor says why not (notDeployed)", k)
				}
			}
			for k := range notDeployed {
				if !read[k] {
					t.Errorf("notDeployed lists %s, which cmd/lambda no longer reads", k)
				}
			}
			if !required["STORMSIM_BUCKET"] || !required["STORMSIM_REDIS_URL"] {
				t.Errorf("required %q: the bucket and Redis were not found required; the check is not working", sorted(required))
			}
		})
	}
}

// policy reads a function's S3 statements: the actions on its objects
// (Resource BUCKET/OBJECT_PREFIX + objects) and on the bucket.
func policy(t *testing.T, doc *yaml.Node, resource, objects string) (onObjects, onBucket []string) {
	t.Helper()
	for _, pol := range node(t, doc, "Resources", resource, "Properties", "Policies").Content {
		for _, st := range node(t, pol, "Statement").Content {
			if node(t, st, "Effect").Value != "Allow" {
				t.Errorf("%s: a statement with Effect %s", resource, node(t, st, "Effect").Value)
			}
			acts := strs(node(t, st, "Action"))
			res := node(t, st, "Resource")
			switch {
			case res.Tag == "!Sub" && res.Value == "arn:${AWS::Partition}:s3:::${BucketName}/${ObjectPrefix}"+objects:
				onObjects = append(onObjects, acts...)
			case res.Tag == "!Sub" && res.Value == "arn:${AWS::Partition}:s3:::${BucketName}":
				onBucket = append(onBucket, acts...)
			default:
				t.Errorf("%s: a statement on %s %q: want the bucket, or its objects under ${ObjectPrefix}%s", resource, res.Tag, res.Value, objects)
			}
		}
	}
	sort.Strings(onObjects)
	return onObjects, onBucket
}

func actions(t *testing.T, ops []string) []string {
	t.Helper()
	want := map[string]bool{}
	for _, op := range ops {
		acts, ok := s3Actions[op]
		if !ok {
			t.Errorf("S3 operation %s: no IAM action known for it; add it to s3Actions and the template", op)
		}
		for _, a := range acts {
			want[a] = true
		}
	}
	return sorted(want)
}

// TestTemplate_S3Policy: the coordinator function may make exactly the S3
// calls of coordinator.ObjectStore on the prefix's objects, the result API
// exactly those it is seen to make on staged objects; both get
// s3:ListBucket on the bucket (without which a missing key is 403, not
// 404), and nothing more. The notification covers the keys uploads are
// staged under.
func TestTemplate_S3Policy(t *testing.T) {
	doc := loadTemplate(t)
	var ops []string
	store := reflect.TypeFor[coordinator.ObjectStore]()
	for i := range store.NumMethod() {
		ops = append(ops, store.Method(i).Name)
	}
	got, bucket := policy(t, doc, "CoordinatorFunction", "*")
	if want := actions(t, ops); !slices.Equal(got, want) {
		t.Errorf("CoordinatorFunction: object actions %q, want exactly %q (coordinator.ObjectStore)", got, want)
	}
	if !slices.Equal(bucket, []string{"s3:ListBucket"}) {
		t.Errorf("CoordinatorFunction: bucket actions %q, want only s3:ListBucket", bucket)
	}

	apiOps, keys, _ := exerciseAPI(t)
	got, bucket = policy(t, doc, "ResultApiFunction", "staging/*")
	if want := actions(t, apiOps); !slices.Equal(got, want) {
		t.Errorf("ResultApiFunction: object actions %q, want exactly %q (the calls it made: %q)", got, want, apiOps)
	}
	if !slices.Equal(bucket, []string{"s3:ListBucket"}) {
		t.Errorf("ResultApiFunction: bucket actions %q, want only s3:ListBucket", bucket)
	}
	for _, k := range keys {
		if !strings.HasPrefix(k, "staging/") {
			t.Errorf("the result API touched %s, outside staging/ (its policy's objects)", k)
		}
	}

	c, err := coordinator.New(coordinator.Config{Bucket: "b", Now: time.Now}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	rule := node(t, doc, "Resources", "CoordinatorFunction", "Properties", "Events", "Staged", "Properties", "Filter", "S3Key", "Rules").Content[0]
	if v := node(t, rule, "Value"); v.Value != "${ObjectPrefix}staging/" || !strings.HasPrefix(c.StagingKey("u", "id"), "staging/") {
		t.Errorf("notification prefix %q, staging key %q: want the staging area's prefix", v.Value, c.StagingKey("u", "id"))
	}
}

// exerciseAPI runs the result API's cases (a decided upload, a staged one,
// none) as the function would, through a proxy in front of the fake S3,
// and returns the S3 operations and keys it used and the Redis commands it
// sent.
func exerciseAPI(t *testing.T) (ops, keys []string, redisCmds map[string]bool) {
	t.Helper()
	f := newFakes(t)
	f.stage("alice", "put-1", "notes.txt", false)
	payload, err := os.ReadFile(filepath.Join("testdata", "s3-put.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.invoke(payload); err != nil {
		t.Fatal(err)
	}
	f.stage("alice", "waiting-1", "later.txt", false)

	var mu sync.Mutex
	seenOps, seenKeys := map[string]bool{}, map[string]bool{}
	target, err := url.Parse(f.env["STORMSIM_S3_ENDPOINT"])
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seenOps[s3Op(r)] = true
		_, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
		seenKeys[key] = true
		mu.Unlock()
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)

	env := maps(f.env)
	env["STORMSIM_S3_ENDPOINT"], env["STORMSIM_ROLE"], env["STORMSIM_TOKEN_SECRET"] = srv.URL, roleResultAPI, testSecret
	h, api, err := newAPI(context.Background(), func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	defer h.rdb.Close()
	redisCmds = map[string]bool{}
	h.rdb.AddHook(recorder{mu: &mu, sent: redisCmds})
	lh := lambda.NewHandler(functionURL(api))
	token := "Bearer " + coordinator.Tokens{Secret: []byte(testSecret)}.Token("alice")
	for _, id := range []string{"put-1", "waiting-1", "none-1"} {
		if _, err := lh.Invoke(context.Background(), urlRequest(t, "/v1/uploads/"+id, token)); err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	return sorted(seenOps), sorted(seenKeys), redisCmds
}

// s3Op names the S3 operation of a path-style request.
func s3Op(r *http.Request) string {
	switch {
	case r.Method == http.MethodHead:
		return "HeadObject"
	case r.Method == http.MethodGet:
		return "GetObject"
	case r.Method == http.MethodPut && r.Header.Get("X-Amz-Copy-Source") != "":
		return "CopyObject"
	case r.Method == http.MethodPut:
		return "PutObject"
	case r.Method == http.MethodDelete:
		return "DeleteObject"
	}
	return r.Method + " " + r.URL.RawQuery
}

// redisCall finds the commands a Lua script sends.
var redisCall = regexp.MustCompile(`redis\.p?call\(\s*['"]([A-Za-z]+)['"]`)

// TestTemplate_RedisACL: each Redis user may send exactly the commands its
// function sends, at top level and from its scripts, on keys and channels
// under the key prefix. The coordinator's are recorded while it decides
// the sample events (both strategies), the result API's while it answers.
func TestTemplate_RedisACL(t *testing.T) {
	var mu sync.Mutex
	coord := map[string]bool{}
	for _, strategy := range []string{string(coordinator.StrategyRedisLock), string(coordinator.StrategyS3Conditional)} {
		f := newFakes(t)
		f.env["STORMSIM_STRATEGY"] = strategy
		h, err := newHandler(context.Background(), func(k string) string { return f.env[k] })
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { h.rdb.Close() })
		h.rdb.AddHook(recorder{mu: &mu, sent: coord})
		f.h = h
		lh := lambda.NewHandler(h.handle)
		f.stage("alice", "put-1", "notes.txt", false)
		f.stage("bob", "race-1", "x.txt", false)
		f.stage("bob", "race-2", "x.txt", false)
		f.stage("carol", "dup-1", "y.txt", false)
		f.stage("dan", "mp-1", "big.bin", true)
		for _, ev := range []string{"s3-put.json", "s3-put-two-records.json", "s3-put-duplicate.json", "s3-multipart.json", "s3-put.json"} {
			payload, err := os.ReadFile(filepath.Join("testdata", ev))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := lh.Invoke(context.Background(), payload); err != nil {
				t.Fatalf("%s, %s: %v", strategy, ev, err)
			}
		}
		if got := f.state("bob", "race-2"); got != coordinator.StateConflict {
			t.Fatalf("%s: race-2 is %s; the conflict path was not exercised", strategy, got)
		}
	}
	for _, name := range []string{coordinator.ScriptLock, coordinator.ScriptCommit, coordinator.ScriptResult,
		coordinator.ScriptRelease, coordinator.ScriptCopyName, coordinator.ScriptCommitOnce} {
		src, ok := coordinator.ScriptSource(name)
		if !ok {
			t.Fatalf("no script %s", name)
		}
		for _, m := range redisCall.FindAllStringSubmatch(src, -1) {
			coord[strings.ToLower(m[1])] = true
		}
	}
	_, _, api := exerciseAPI(t)

	doc := loadTemplate(t)
	for _, fn := range functions {
		sent := coord
		if fn.redisUser == "RedisApiUser" {
			sent = api
		}
		var want []string
		for c := range sent {
			if optionalRedis[c] == "" {
				want = append(want, c)
			}
		}
		sort.Strings(want)
		acl := node(t, doc, "Resources", fn.redisUser, "Properties", "AccessString")
		var allowed []string
		for _, tok := range strings.Fields(acl.Value) {
			switch {
			case strings.HasPrefix(tok, "+@"):
				t.Errorf("%s may send the category %s: list commands, not categories", fn.redisUser, tok)
			case strings.HasPrefix(tok, "+"):
				allowed = append(allowed, strings.ToLower(tok[1:]))
			case strings.HasPrefix(tok, "~") && tok != "~${KeyPrefix}*", strings.HasPrefix(tok, "&") && tok != "&${KeyPrefix}*":
				t.Errorf("%s: pattern %s, want the key prefix only", fn.redisUser, tok)
			}
		}
		sort.Strings(allowed)
		if !slices.Equal(allowed, want) {
			t.Errorf("%s (%s) may send %q; the function sends %q", fn.redisUser, fn.resource, allowed, want)
		}
		if url := node(t, doc, "Resources", fn.resource, "Properties", "Environment", "Variables", "STORMSIM_REDIS_URL").Value; !strings.Contains(url, "rediss://"+node(t, doc, "Resources", fn.redisUser, "Properties", "UserName").Value+":") {
			t.Errorf("%s connects with %q, not as %s's user", fn.resource, url, fn.redisUser)
		}
	}
}

// recorder is a go-redis hook noting each command's name.
type recorder struct {
	mu   *sync.Mutex
	sent map[string]bool
}

func (r recorder) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) { return next(ctx, network, addr) }
}

func (r recorder) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		r.note(cmd)
		return next(ctx, cmd)
	}
}

func (r recorder) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		for _, c := range cmds {
			r.note(c)
		}
		return next(ctx, cmds)
	}
}

func (r recorder) note(cmd redis.Cmder) {
	r.mu.Lock()
	defer r.mu.Unlock()
	name := strings.ToLower(cmd.Name())
	if args := cmd.Args(); name == "client" && len(args) > 1 {
		// The ACL names CLIENT's subcommands (go-redis sends SETINFO
		// when it connects).
		name += "|" + strings.ToLower(fmt.Sprint(args[1]))
	}
	r.sent[name] = true
}
