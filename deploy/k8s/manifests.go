// Package k8s holds the Kubernetes manifests of a distributed run (see the
// README, "Distributed runs") and decodes them with the official API types,
// strictly: an unknown or misspelt field is an error naming the file.
//
// The folder's files:
//
//	Dockerfile        simrun as a static binary on a distroless base
//	scenario.yaml     ConfigMap stormsim-scenario: the scenario each pod runs
//	run-config.yaml   ConfigMap stormsim-run: run name, start time, endpoints
//	job.yaml          Indexed Job stormsim-shards: one simrun --shard auto per pod
//	merge-job.yaml    Job stormsim-merge: simrun report --merge, the verdict
package k8s

import (
	"embed"
	"errors"
	"fmt"
	"regexp"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

//go:embed *.yaml
var files embed.FS

// Manifests are the folder's objects, decoded.
type Manifests struct {
	Scenario  corev1.ConfigMap // scenario.yaml
	RunConfig corev1.ConfigMap // run-config.yaml
	Shards    batchv1.Job      // job.yaml
	Merge     batchv1.Job      // merge-job.yaml
}

// Load decodes the manifests strictly, each checked to be of its
// apiVersion and kind.
func Load() (*Manifests, error) {
	m := &Manifests{}
	for _, f := range []struct {
		name, apiVersion, kind string
		into                   any
	}{
		{"scenario.yaml", "v1", "ConfigMap", &m.Scenario},
		{"run-config.yaml", "v1", "ConfigMap", &m.RunConfig},
		{"job.yaml", "batch/v1", "Job", &m.Shards},
		{"merge-job.yaml", "batch/v1", "Job", &m.Merge},
	} {
		data, err := files.ReadFile(f.name)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", f.name, err)
		}
		if err := decodeStrict(data, f.into); err != nil {
			return nil, fmt.Errorf("decode deploy/k8s/%s: %w", f.name, err)
		}
		var tm struct{ APIVersion, Kind string }
		_ = yaml.Unmarshal(data, &tm)
		if tm.APIVersion != f.apiVersion || tm.Kind != f.kind {
			return nil, fmt.Errorf("decode deploy/k8s/%s: apiVersion %q kind %q, want %s %s", f.name, tm.APIVersion, tm.Kind, f.apiVersion, f.kind)
		}
	}
	return m, nil
}

// decodeStrict decodes YAML into a typed object as the API server's strict
// decoding does: field names match case-sensitively, and an unknown or
// duplicate field is an error (sigs.k8s.io/yaml alone would accept
// "restartpolicy", as encoding/json matches names in any case).
func decodeStrict(data []byte, into any) error {
	j, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		return err
	}
	strict, err := kjson.UnmarshalStrict(j, into, kjson.DisallowDuplicateFields, kjson.DisallowUnknownFields)
	if err != nil {
		return err
	}
	return errors.Join(strict...)
}

// Env is the environment Kubernetes gives c: each variable's literal
// value, or its ConfigMap key's from config (a key the ConfigMap lacks is
// an error, unless optional), extra's values last (what the platform adds,
// such as JOB_COMPLETION_INDEX). A secret reference takes its value from
// secrets; an optional one without a value is left out.
func Env(c corev1.Container, config corev1.ConfigMap, secrets map[string]string, extra map[string]string) (map[string]string, error) {
	env := map[string]string{}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			env[e.Name] = e.Value
		case e.ValueFrom.ConfigMapKeyRef != nil:
			ref := e.ValueFrom.ConfigMapKeyRef
			if ref.Name != config.Name {
				return nil, fmt.Errorf("env %s: ConfigMap %q, want %q", e.Name, ref.Name, config.Name)
			}
			v, ok := config.Data[ref.Key]
			if !ok && (ref.Optional == nil || !*ref.Optional) {
				return nil, fmt.Errorf("env %s: ConfigMap %s has no key %q", e.Name, config.Name, ref.Key)
			}
			env[e.Name] = v
		case e.ValueFrom.SecretKeyRef != nil:
			ref := e.ValueFrom.SecretKeyRef
			v, ok := secrets[ref.Name+"/"+ref.Key]
			if !ok && (ref.Optional == nil || !*ref.Optional) {
				return nil, fmt.Errorf("env %s: no secret %s key %q", e.Name, ref.Name, ref.Key)
			}
			if ok {
				env[e.Name] = v
			}
		default:
			return nil, fmt.Errorf("env %s: a value source this package does not resolve", e.Name)
		}
	}
	for k, v := range extra {
		env[k] = v
	}
	return env, nil
}

// varRef is a $(VAR) reference in a command or argument.
var varRef = regexp.MustCompile(`\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)

// Expand replaces $(VAR) in args by env's values as Kubernetes does ($$
// is a literal $). A reference to a variable env lacks, which Kubernetes
// would leave as is, is an error here: it is a typo in the manifest.
func Expand(args []string, env map[string]string) ([]string, error) {
	out := make([]string, len(args))
	var missing []string
	for i, a := range args {
		out[i] = varRef.ReplaceAllStringFunc(a, func(m string) string {
			if m == "$$" {
				return "$"
			}
			name := m[2 : len(m)-1]
			v, ok := env[name]
			if !ok {
				missing = append(missing, name)
				return m
			}
			return v
		})
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("expand arguments: no variable %s in the container's environment", strings.Join(missing, ", "))
	}
	return out, nil
}
