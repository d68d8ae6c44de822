package main

import (
	"strings"
	"testing"

	"github.com/stormsim/stormsim/sim/traffic"
)

func TestRerunLine(t *testing.T) {
	tests := []struct {
		name  string
		args  []string // the command line, before the scenario
		seed  uint64
		shard traffic.Shard
		path  string
		want  string
	}{
		{name: "plain", seed: 7, path: "scenarios/burst.yaml",
			want: "simrun --seed 7 scenarios/burst.yaml"},
		{name: "seed flag is the resolved seed", args: []string{"--seed", "9"}, seed: 9, path: "b.yaml",
			want: "simrun --seed 9 b.yaml"},
		{name: "shard", args: []string{"--shard", "1/4"}, seed: 7, shard: traffic.Shard{I: 1, N: 4}, path: "b.yaml",
			want: "simrun --seed 7 --shard 1/4 b.yaml"},
		{name: "output-only flags left out",
			args: []string{"--out", "o", "--quiet", "--json", "--cpuprofile", "c", "--memprofile", "m", "--metrics-addr", ":9090"},
			seed: 7, path: "b.yaml", want: "simrun --seed 7 b.yaml"},
		{name: "redis with password redacted", args: []string{"--redis", "redis://u:hunter2@db:6379/2"}, seed: 7, path: "b.yaml",
			want: "simrun --seed 7 --redis redis://u:REDACTED@db:6379/2 b.yaml"},
		{name: "redis password only", args: []string{"--redis", "redis://:hunter2@db:6379"}, seed: 7, path: "b.yaml",
			want: "simrun --seed 7 --redis redis://:REDACTED@db:6379 b.yaml"},
		{name: "redis cluster, bare user:pass@host", args: []string{"--redis", "u:hunter2@h1:7000,h2:7001"}, seed: 7, path: "b.yaml",
			want: "simrun --seed 7 --redis u:REDACTED@h1:7000,h2:7001 b.yaml"},
		{name: "redis cluster option quoted", args: []string{"--redis", "redis://h:7000?cluster=true"}, seed: 7, path: "b.yaml",
			want: "simrun --seed 7 --redis 'redis://h:7000?cluster=true' b.yaml"},
		{name: "s3 and bucket", args: []string{"--s3", "http://127.0.0.1:7070", "--bucket", "loadtest"}, seed: 7, path: "b.yaml",
			want: "simrun --seed 7 --bucket loadtest --s3 http://127.0.0.1:7070 b.yaml"},
		{name: "s3 userinfo redacted", args: []string{"--s3", "https://AKID:s3cret@s3.example.com"}, seed: 7, path: "b.yaml",
			want: "simrun --seed 7 --s3 https://AKID:REDACTED@s3.example.com b.yaml"},
		{name: "every server flag",
			args: []string{"--s3", "http://h:1", "--webhook", ":9000", "--s3-wait", "30s", "--external", "--run-id", "nightly", "--keep"},
			seed: 7, path: "b.yaml",
			want: "simrun --seed 7 --external --keep --run-id nightly --s3 http://h:1 --s3-wait 30s --webhook :9000 b.yaml"},
		{name: "run flags", args: []string{"--max-inflight", "500", "--check-timeout", "2m", "--prices", "p.yaml"}, seed: 7, path: "b.yaml",
			want: "simrun --seed 7 --check-timeout 2m0s --max-inflight 500 --prices p.yaml b.yaml"},
		{name: "boolean set false", args: []string{"--keep=false"}, seed: 7, path: "b.yaml",
			want: "simrun --seed 7 --keep=false b.yaml"},
		{name: "quoting", args: []string{"--run-id", "it's mine", "--bucket", "a b;rm"}, seed: 7, path: "my scenarios/$x.yaml",
			want: `simrun --seed 7 --bucket 'a b;rm' --run-id 'it'\''s mine' 'my scenarios/$x.yaml'`},
		{name: "a Job's shard: the resolved shard, not auto; the barrier and outputs left out",
			args: []string{"--shard", "auto", "--start-at", "2026-01-01T00:00:00Z", "--verdict-exit=false", "--out", "s3://b/r/shard-1", "--out-endpoint", "http://h:1"},
			seed: 7, shard: traffic.Shard{I: 1, N: 4}, path: "b.yaml", want: "simrun --seed 7 --shard 1/4 b.yaml"},
		{name: "empty value", args: []string{"--webhook", ""}, seed: 7, path: "b.yaml",
			want: "simrun --seed 7 --webhook '' b.yaml"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var o runOptions
			fs := newRunFlags(&o)
			if err := fs.Parse(interleave(fs, append(tc.args, tc.path))); err != nil {
				t.Fatal(err)
			}
			got := rerunLine(fs, tc.seed, tc.shard, tc.path)
			if got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
			if strings.Contains(got, "hunter2") || strings.Contains(got, "s3cret") {
				t.Errorf("the rerun line shows a password: %s", got)
			}
		})
	}
}

func TestShellQuote(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "''"},
		{"plain-name_1.yaml", "plain-name_1.yaml"},
		{"redis://u@h:1/0", "redis://u@h:1/0"},
		{"two words", "'two words'"},
		{"it's", `'it'\''s'`},
		{"$HOME", "'$HOME'"},
		{"a*b", "'a*b'"},
		{"~/x", "'~/x'"},
		{"a&b", "'a&b'"},
	}
	for _, tc := range tests {
		if got := shellQuote(tc.in); got != tc.want {
			t.Errorf("shellQuote(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}
