package k8s

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"

	"github.com/stormsim/stormsim/scenarios"
)

// TestLoad_Strict: the manifests decode with the official types, and a
// misspelt field anywhere in one is an error naming the file.
func TestLoad_Strict(t *testing.T) {
	if _, err := Load(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile("job.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, typo := range []struct{ from, to string }{
		{"completionMode: Indexed", "completionMod: Indexed"},
		{"restartPolicy: Never", "restartpolicy: Never"},
		{"mountPath: /etc/stormsim", "mountpath: /etc/stormsim"},
		{"parallelism: 4", "parallelism: four"},
	} {
		bad := strings.Replace(string(data), typo.from, typo.to, 1)
		if bad == string(data) {
			t.Fatalf("job.yaml has no %q to misspell", typo.from)
		}
		var j batchv1.Job
		if err := decodeStrict([]byte(bad), &j); err == nil {
			t.Errorf("job.yaml with %q decoded without error", typo.to)
		}
	}
}

// TestShards_Contract: the Indexed Job's pods run simrun --shard auto with
// STORMSIM_SHARDS equal to spec.completions, all at once, each writing its
// own shard-INDEX folder, and the merge Job reads the folder they share.
func TestShards_Contract(t *testing.T) {
	m, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	j := m.Shards.Spec
	if j.CompletionMode == nil || *j.CompletionMode != batchv1.IndexedCompletion {
		t.Errorf("completionMode %v, want Indexed", j.CompletionMode)
	}
	if j.Completions == nil || j.Parallelism == nil || *j.Parallelism != *j.Completions {
		t.Fatalf("completions %v, parallelism %v: want both set and equal (the shards start together)", j.Completions, j.Parallelism)
	}
	c := j.Template.Spec.Containers
	if len(c) != 1 {
		t.Fatalf("%d containers, want 1", len(c))
	}
	env, err := Env(c[0], m.RunConfig, nil, map[string]string{"JOB_COMPLETION_INDEX": "3"})
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := strconv.Atoi(env["STORMSIM_SHARDS"]); n != int(*j.Completions) {
		t.Errorf("STORMSIM_SHARDS=%q, want spec.completions %d", env["STORMSIM_SHARDS"], *j.Completions)
	}
	args, err := Expand(c[0].Args, env)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"--shard=auto", "--verdict-exit=false", "--out=s3://" + m.RunConfig.Data["out_bucket"] + "/" + m.RunConfig.Data["run"] + "/shard-3"} {
		if !slices.Contains(args, want) {
			t.Errorf("shard args %q lack %q", args, want)
		}
	}
	// The scenario argument is the ConfigMap's file, mounted where it is read.
	scen := args[len(args)-1]
	mounted := false
	for _, vm := range c[0].VolumeMounts {
		for _, v := range j.Template.Spec.Volumes {
			if v.Name == vm.Name && v.ConfigMap != nil && v.ConfigMap.Name == m.Scenario.Name {
				_, has := m.Scenario.Data[filepath.Base(scen)]
				mounted = mounted || filepath.Dir(scen) == vm.MountPath && has
			}
		}
	}
	if !mounted {
		t.Errorf("scenario %s is not a key of ConfigMap %s mounted at its folder", scen, m.Scenario.Name)
	}

	mc := m.Merge.Spec.Template.Spec.Containers[0]
	menv, err := Env(mc, m.RunConfig, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	margs, err := Expand(mc.Args, menv)
	if err != nil {
		t.Fatal(err)
	}
	prefix := "s3://" + m.RunConfig.Data["out_bucket"] + "/" + m.RunConfig.Data["run"]
	if len(margs) < 3 || margs[0] != "report" || margs[1] != "--merge" || margs[len(margs)-1] != prefix {
		t.Errorf("merge args %q: want report --merge ... %s", margs, prefix)
	}
}

// TestScenario_Valid: the ConfigMap's scenario passes simrun validate.
func TestScenario_Valid(t *testing.T) {
	m, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	data, ok := m.Scenario.Data["scenario.yaml"]
	if !ok {
		t.Fatal("ConfigMap stormsim-scenario has no scenario.yaml")
	}
	if _, err := scenarios.Parse("deploy/k8s/scenario.yaml", []byte(data)); err != nil {
		t.Error(err)
	}
}

func TestExpand(t *testing.T) {
	env := map[string]string{"A": "x", "B": ""}
	got, err := Expand([]string{"--a=$(A)", "$(B)", "$$(A)", "cost $$5"}, env)
	if err != nil || !slices.Equal(got, []string{"--a=x", "", "$(A)", "cost $5"}) {
		t.Errorf("Expand = %q, %v", got, err)
	}
	if _, err := Expand([]string{"--out=$(OUT_BUCKT)"}, env); err == nil || !strings.Contains(err.Error(), "OUT_BUCKT") {
		t.Errorf("a reference to no variable: %v, want an error naming it", err)
	}
}

// TestDockerfile_Static: the image's simrun is built without cgo on a base
// without libc.
func TestDockerfile_Static(t *testing.T) {
	b, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, want := range []string{"CGO_ENABLED=0 go build", "./cmd/simrun", "FROM gcr.io/distroless/static"} {
		if !strings.Contains(s, want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
}
