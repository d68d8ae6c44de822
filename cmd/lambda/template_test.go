package main

import (
	"context"
	"fmt"
	"net"
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

// The deployment template (AWS SAM) these tests hold to the coordinator.
const templatePath = "../../deploy/aws/template.yaml"

// notDeployed are the variables cmd/lambda reads that the template leaves
// unset on purpose, each with why.
var notDeployed = map[string]string{
	"STORMSIM_S3_ENDPOINT": "an S3-compatible endpoint for tests; deployed, the function talks to AWS S3",
	"STORMSIM_EC2_IMDS":    "Lambda has no instance metadata service; the execution role's credentials come in the environment",
}

// s3Actions are the IAM actions each method of coordinator.ObjectStore
// needs. A method added to the interface without an entry here fails
// TestTemplate_S3Policy.
var s3Actions = map[string][]string{
	"GetObject":    {"s3:GetObject"},
	"HeadObject":   {"s3:GetObject"},
	"PutObject":    {"s3:PutObject"},
	"CopyObject":   {"s3:GetObject", "s3:PutObject"}, // read the source, write the target
	"DeleteObject": {"s3:DeleteObject"},
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

// TestTemplate_Env: the function's environment sets every variable
// cmd/lambda requires, and only variables it reads; the ones it reads and
// the template leaves out are listed in notDeployed, with a reason.
func TestTemplate_Env(t *testing.T) {
	f := newFakes(t)
	var mu sync.Mutex
	read := map[string]bool{}
	getenv := func(env map[string]string) func(string) string {
		return func(k string) string {
			mu.Lock()
			read[k] = true
			mu.Unlock()
			return env[k]
		}
	}
	h, err := newHandler(context.Background(), getenv(f.env))
	if err != nil {
		t.Fatal(err)
	}
	h.rdb.Close()
	required := map[string]bool{}
	for k := range f.env {
		without := maps(f.env)
		delete(without, k)
		if h, err := newHandler(context.Background(), func(n string) string { return without[n] }); err != nil {
			required[k] = true
		} else {
			h.rdb.Close()
		}
	}
	vars := node(t, loadTemplate(t), "Resources", "CoordinatorFunction", "Properties", "Environment", "Variables")
	set := map[string]bool{}
	for i := 0; i < len(vars.Content); i += 2 {
		k := vars.Content[i].Value
		set[k] = true
		if !read[k] {
			t.Errorf("the template sets %s, which cmd/lambda does not read", k)
		}
	}
	for k := range required {
		if !set[k] {
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
	if len(required) == 0 {
		t.Error("no required variable found: the check compared nothing")
	}
}

func maps(m map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = v
	}
	return out
}

// TestTemplate_S3Policy: the function may make exactly the S3 calls of
// coordinator.ObjectStore on the run's objects, plus s3:ListBucket on the
// bucket (without which a missing key is 403, not 404); nothing more. The
// notification covers the keys the coordinator stages uploads under.
func TestTemplate_S3Policy(t *testing.T) {
	want := map[string]bool{}
	store := reflect.TypeFor[coordinator.ObjectStore]()
	for i := range store.NumMethod() {
		m := store.Method(i).Name
		acts, ok := s3Actions[m]
		if !ok {
			t.Errorf("coordinator.ObjectStore.%s: no IAM action known for it; add it to s3Actions and the template", m)
		}
		for _, a := range acts {
			want[a] = true
		}
	}
	doc := loadTemplate(t)
	fn := node(t, doc, "Resources", "CoordinatorFunction", "Properties")
	var objects, bucket []string
	for _, pol := range node(t, fn, "Policies").Content {
		for _, st := range node(t, pol, "Statement").Content {
			acts := strs(node(t, st, "Action"))
			res := node(t, st, "Resource")
			switch {
			case res.Tag == "!Sub" && strings.HasSuffix(res.Value, ":s3:::${BucketName}/${ObjectPrefix}*"):
				objects = append(objects, acts...)
			case res.Tag == "!Sub" && strings.HasSuffix(res.Value, ":s3:::${BucketName}"):
				bucket = append(bucket, acts...)
			default:
				t.Errorf("a statement on %s %q: the coordinator uses only the bucket and its objects under the prefix", res.Tag, res.Value)
			}
		}
	}
	var w []string
	for a := range want {
		w = append(w, a)
	}
	sort.Strings(w)
	sort.Strings(objects)
	if !slices.Equal(objects, w) {
		t.Errorf("object actions %q, want exactly %q (coordinator.ObjectStore)", objects, w)
	}
	if !slices.Equal(bucket, []string{"s3:ListBucket"}) {
		t.Errorf("bucket actions %q, want only s3:ListBucket", bucket)
	}

	c, err := coordinator.New(coordinator.Config{Bucket: "b", Now: time.Now}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	rule := node(t, fn, "Events", "Staged", "Properties", "Filter", "S3Key", "Rules").Content[0]
	if v := node(t, rule, "Value"); v.Value != "${ObjectPrefix}staging/" || !strings.HasPrefix(c.StagingKey("u", "id"), "staging/") {
		t.Errorf("notification prefix %q, staging key %q: want the staging area's prefix", v.Value, c.StagingKey("u", "id"))
	}
}

// optionalRedis are commands the client sends that the ACL leaves out on
// purpose, each with why.
var optionalRedis = map[string]string{
	"client|maint_notifications": "go-redis asks for maintenance notifications when it connects and, refused (a Redis error such as NOPERM), carries on without (ModeAuto); Redis does not know the subcommand, so an ACL naming it would not load",
}

// redisCall finds the commands a Lua script sends.
var redisCall = regexp.MustCompile(`redis\.p?call\(\s*['"]([A-Za-z]+)['"]`)

// TestTemplate_RedisACL: the coordinator's Redis user may send exactly the
// commands the handler sends, at top level and from its scripts, on keys
// and channels under the key prefix. The commands are recorded while the
// handler decides every sample event (both strategies).
func TestTemplate_RedisACL(t *testing.T) {
	var mu sync.Mutex
	sent := map[string]bool{}
	for _, strategy := range []string{string(coordinator.StrategyRedisLock), string(coordinator.StrategyS3Conditional)} {
		f := newFakes(t)
		f.env["STORMSIM_STRATEGY"] = strategy
		h, err := newHandler(context.Background(), func(k string) string { return f.env[k] })
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { h.rdb.Close() })
		h.rdb.AddHook(recorder{mu: &mu, sent: sent})
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
			sent[strings.ToLower(m[1])] = true
		}
	}
	var want []string
	for c := range sent {
		if optionalRedis[c] == "" {
			want = append(want, c)
		}
	}
	sort.Strings(want)

	acl := node(t, loadTemplate(t), "Resources", "RedisCoordinatorUser", "Properties", "AccessString")
	var allowed []string
	for _, tok := range strings.Fields(acl.Value) {
		switch {
		case strings.HasPrefix(tok, "+@"):
			t.Errorf("access string allows the category %s: list commands, not categories", tok)
		case strings.HasPrefix(tok, "+"):
			allowed = append(allowed, strings.ToLower(tok[1:]))
		case strings.HasPrefix(tok, "~") && tok != "~${KeyPrefix}*", strings.HasPrefix(tok, "&") && tok != "&${KeyPrefix}*":
			t.Errorf("access string pattern %s: want the key prefix only", tok)
		}
	}
	sort.Strings(allowed)
	if !slices.Equal(allowed, want) {
		t.Errorf("the Redis user may send %q; the coordinator sends %q", allowed, want)
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
