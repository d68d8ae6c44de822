package model

import (
	"errors"
	"strings"
	"testing"

	"github.com/stormsim/stormsim/internal/yamlconf"
)

// A bad profile reads as every bad configuration file does:
// FILE:LINE: FIELD: MESSAGE, wrapping ErrProfile and yamlconf.ErrInvalid.
func TestParseProfile_BadInput_FieldError(t *testing.T) {
	const head = "name: x\nhandler: {kind: queue}\n"
	for _, tt := range []struct {
		name, yaml, want string
	}{
		{"unknown field", head + "redis: {shards: 1}\nbogus: 1\n", "bad.yaml:4: bogus: unknown field"},
		{"unknown nested field", head + "redis: {shards: 1, nodes: 3}\n", "bad.yaml:3: redis.nodes: unknown field"},
		{"wrong type", head + "redis: {shards: many}\n", `bad.yaml:3: redis.shards: must be an integer, got "many"`},
		{"bad value", head + "redis: {shards: 0}\n", "bad.yaml:3: redis.shards: must be >= 1, got 0"},
		{"missing for lambda", "name: x\nhandler: {kind: lambda}\nredis: {shards: 1}\n", "bad.yaml:2: handler.account_concurrency: must be > 0, got 0"},
		{"bad distribution", head + "redis: {shards: 1}\nops:\n  - {op: s3.get, kind: lognormal, median: -1}\n",
			"bad.yaml:5: ops[0]: s3.get: want median > 0"},
		{"duplicate key", head + "redis: {shards: 1}\nname: y\n", "bad.yaml:4: name: duplicate field (first set at line 1)"},
		{"syntax", head + "redis: {shards: 1\n", "bad.yaml:"},
		{"no name", "handler: {kind: queue}\nredis: {shards: 1}\n", "bad.yaml: name: missing"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseProfile("bad.yaml", []byte(tt.yaml))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			var fe *yamlconf.FieldError
			if !errors.Is(err, ErrProfile) || !errors.Is(err, yamlconf.ErrInvalid) || !errors.As(err, &fe) {
				t.Fatalf("err %v: want a yamlconf.FieldError wrapping ErrProfile", err)
			}
		})
	}
}

func TestLoadProfile_Missing_NamesBuiltins(t *testing.T) {
	_, err := LoadProfile("nope")
	if !errors.Is(err, ErrProfile) || !strings.Contains(err.Error(), "aws-us-east-1") {
		t.Fatalf("err = %v", err)
	}
}
