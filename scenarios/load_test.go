package scenarios

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// base is a minimal valid scenario; cases append to it.
const base = "phases:\n  - {kind: constant, rate: 10, duration: 1s}\n"

func TestParse_BadFiles(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want string
	}{
		{"negative rate", "phases:\n  - kind: constant\n    rate: 10\n    duration: 1s\n  - kind: constant\n    rate: -3\n    duration: 1s\n",
			"x.yaml:6: phases[1].rate: must be > 0, got -3"},
		{"unknown field", base + "popluation: {}\n",
			`x.yaml:3: popluation: unknown field (did you mean "population"?)`},
		{"unknown nested field", base + "wait:\n  poll:\n    intervall: 1s\n",
			`x.yaml:5: wait.poll.intervall: unknown field (did you mean "interval"?)`},
		{"duplicate key", base + "seed: 1\nseed: 2\n",
			"x.yaml:4: seed: duplicate field (first set at line 3)"},
		{"string for int", base + "population:\n  users: many\n",
			`x.yaml:4: population.users: must be an integer, got "many"`},
		{"fraction for int", base + "population: {users: 2.5}\n",
			"x.yaml:3: population.users: must be an integer, got 2.5"},
		{"huge int", base + "uploads: 99999999999999999999\n",
			"x.yaml:3: uploads: must be an integer, got 99999999999999999999"},
		{"negative seed", base + "seed: -1\n",
			"x.yaml:3: seed: must be a non-negative integer, got -1"},
		{"bare number duration", base + "drain: 30\n",
			`x.yaml:3: drain: must be a duration like "200ms", "1m" or "2d", got 30`},
		{"bad duration", base + "drain: forever\n",
			`x.yaml:3: drain: must be a duration like "200ms", "1m" or "2d", got "forever"`},
		{"list for mapping", base + "population: [1]\n",
			"x.yaml:3: population: must be a mapping, got a list"},
		{"mapping for list", base + "gates: {a: 1}\n",
			"x.yaml:3: gates: must be a list, got a mapping"},
		{"bool", base + "wait: {push: maybe}\n",
			`x.yaml:3: wait.push: must be true or false, got "maybe"`},
		{"nan", base + "sizes: {kind: fixed, value: .nan}\n",
			"x.yaml:3: sizes.value: must be a finite number, got .nan"},
		{"bad size", base + "sizes: {kind: fixed, value: 4 kilobytes}\n",
			`x.yaml:3: sizes.value: not a size like "4KiB" or "2MB", got "4 kilobytes"`},
		{"size as duration", base + "wait: {push_delay: {kind: fixed, value: 4KiB}}\n",
			`x.yaml:3: wait.push_delay.value: not a duration like "200ms", "1m" or "2d", got "4KiB"`},
		{"result ttl shorter than a wait", base + "coordinator:\n  result_ttl: 30s\n",
			"x.yaml:4: coordinator.result_ttl: must be >= wait.poll.timeout + 1m (1m30s), got 30s"},
		{"negative keep_versions", base + "storage:\n  keep_versions: -1\n",
			"x.yaml:4: storage.keep_versions: must be in [0, 1000000] (0 keeps every version), got -1"},
		{"keep_versions without versions", base + "coordinator: {strategy: s3-conditional}\nstorage: {keep_versions: 2}\n",
			"x.yaml:4: storage.keep_versions: only used with coordinator.strategy redis-lock (s3-conditional keeps no versions/)"},
		{"part size", base + "sizes: {part_size: 1MiB}\n",
			"x.yaml:3: sizes.part_size: must be in [5MiB, 5GiB], got 1MiB"},
		{"unknown model", base + "model: half-open\n",
			`x.yaml:3: model: must be one of open, closed, got "half-open"`},
		{"unknown phase kind", "phases:\n  - kind: steady\n",
			`x.yaml:2: phases[0].kind: must be one of constant, ramp, burst, poisson, got "steady"`},
		{"phase never ends", "phases:\n  - {kind: constant, rate: 10}\n  - {kind: burst, count: 5}\n",
			"x.yaml:2: phases[0]: never ends: set its duration or count (only the last phase may rely on the scenario's duration or uploads)"},
		{"field of other kind", "phases:\n  - {kind: burst, count: 5, rate: 3}\n",
			`x.yaml:2: phases[0].rate: not used by kind "burst" (it uses count, at, duration)`},
		{"burst after end", "phases:\n  - {kind: burst, count: 5, at: 2s, duration: 1s}\n",
			"x.yaml:2: phases[0].at: must be <= the phase duration 1s, got 2s"},
		{"ramp zero", "phases:\n  - {kind: ramp, from: 0, to: 0, duration: 1s}\n",
			"x.yaml:2: phases[0].to: from and to must not both be 0"},
		{"no phases", "seed: 3\n",
			"x.yaml: phases: at least one phase is required (or a scheduler section)"},
		{"users", base + "population:\n  users: 0\n",
			"x.yaml:4: population.users: must be in [1, 10000000], got 0"},
		{"hot files", base + "population: {files_per_user: 3, hot_files: 4}\n",
			"x.yaml:3: population.hot_files: must be in [0, files_per_user=3], got 4"},
		{"probability", base + "population: {hot_share: 1.5}\n",
			"x.yaml:3: population.hot_share: must be in [0, 1], got 1.5"},
		{"follow", "phases:\n  - {kind: constant, rate: 10, duration: 1s, follow: 1.5}\n",
			"x.yaml:2: phases[0].follow: must be in [0, 1], got 1.5"},
		{"lognormal", base + "sizes: {kind: lognormal, median: 0, sigma: 1}\n",
			"x.yaml:3: sizes.median: must be > 0, got 0"},
		{"pareto cap", base + "sizes: {kind: pareto, alpha: 1.2, scale: 1KiB}\n",
			`x.yaml:3: sizes.cap: required for kind "pareto" (the largest value)`},
		{"pareto cap below scale", base + "sizes:\n  kind: pareto\n  alpha: 1.2\n  scale: 1KiB\n  cap: 512\n",
			"x.yaml:7: sizes.cap: must be > scale (1024), got 512"},
		{"uniform", base + "sizes: {kind: uniform, min: 2KiB, max: 1KiB}\n",
			"x.yaml:3: sizes.max: must be >= min (2048), got 1KiB"},
		{"mix weight", base + "sizes:\n  kind: mix\n  mix:\n    - {weight: 1, kind: fixed, value: 1}\n    - {weight: 0, kind: fixed, value: 1}\n",
			"x.yaml:7: sizes.mix[1].weight: must be > 0, got 0"},
		{"mix without kind", base + "sizes: {kind: mix, mix: [{weight: 1, value: 1}]}\n",
			"x.yaml:3: sizes.mix[0].kind: required, one of exponential, fixed, lognormal, mix, normal, pareto, uniform"},
		{"default kind keeps", base + "sizes: {value: 3}\n",
			`x.yaml:3: sizes.value: not used by kind "lognormal" (it uses median, sigma)`},
		{"first delay", base + "wait: {poll: {first_delay: soon}}\n",
			`x.yaml:3: wait.poll.first_delay: must be "auto" or a duration like "200ms", got "soon"`},
		{"max interval", base + "wait:\n  poll:\n    interval: 1s\n    max_interval: 500ms\n",
			"x.yaml:6: wait.poll.max_interval: must be >= interval 1s, got 500ms"},
		{"strategy", base + "coordinator: {strategy: paxos}\n",
			`x.yaml:3: coordinator.strategy: must be one of redis-lock, s3-conditional, got "paxos"`},
		{"closed without devices", "model: closed\nuploads: 10\n",
			"x.yaml:1: closed.devices: must be >= 1 for the closed model, got 0"},
		{"closed section in open model", base + "closed: {devices: 3}\n",
			"x.yaml:3: closed: only used when model is closed"},
		{"fault kind", base + "faults:\n  - {kind: s3-meltdown}\n",
			`x.yaml:4: faults[0].kind: must be one of event-delay, event-drop, event-duplicate, event-reorder, handler-crash, handler-pause, hostile-upload, push-outage, redis-clock-jump, redis-fence-rollback, redis-latency, redis-lock-expiry, redis-lock-loss, redis-outage, s3-error, s3-latency, got "s3-meltdown"`},
		{"crash step", base + "faults: [{kind: handler-crash}]\n",
			"x.yaml:3: faults[0].step: required, one of after-read, after-lock, after-commit, after-copy, after-result"},
		{"fault field", base + "faults: [{kind: redis-outage, latency: 1s}]\n",
			`x.yaml:3: faults[0].latency: not used by kind "redis-outage" (it takes no settings)`},
		{"fault window", base + "faults: [{kind: push-outage, start: 5s, end: 2s}]\n",
			"x.yaml:3: faults[0].end: must be > start (5s) or 0 (until the end), got 2s"},
		{"scheduler days", "scheduler:\n  days: 0\n",
			"x.yaml:2: scheduler.days: must be in (0, 3650], got 0"},
		{"scheduler compare", "scheduler:\n  compare: [one-shot, one-shot]\n",
			`x.yaml:2: scheduler.compare[1]: listed twice (or equal to strategy), got "one-shot"`},
		{"gate metric", base + "gates:\n  - polls.avg <= 1\n",
			`x.yaml:4: gates[0]: unknown metric "polls.avg", got "polls.avg <= 1"`},
		{"gate op", base + "gates: ['polls.mean = 1']\n",
			`x.yaml:3: gates[0]: use "==" to compare for equality, got "polls.mean = 1"`},
		{"gate unit", base + "gates: ['polls.mean <= 2s']\n",
			`x.yaml:3: gates[0]: polls.mean is not a time; value "2s" must be a plain number, got "polls.mean <= 2s"`},
		{"syntax", "phases: [\n",
			"x.yaml:1: syntax error: did not find expected node content"},
		{"not a mapping", "- 1\n",
			"x.yaml:1: scenario must be a mapping, got a list"},
		{"two documents", base + "---\nseed: 1\n",
			"x.yaml:3: only one YAML document allowed"},
		{"two errors", base + "seed: x\ndrain: y\n",
			"x.yaml:3: seed: must be a non-negative integer, got \"x\"\nx.yaml:4: drain: must be a duration like \"200ms\", \"1m\" or \"2d\", got \"y\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc, err := Parse("x.yaml", []byte(tt.yaml))
			if err == nil {
				t.Fatalf("Parse succeeded (%+v), want error %q", sc, tt.want)
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("error:\n got %s\nwant %s", got, tt.want)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("errors.Is(err, ErrInvalid) = false")
			}
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Errorf("errors.As(*FieldError) = false")
			}
		})
	}
}

func TestLoad_File(t *testing.T) {
	path := filepath.Join("testdata", "bad-rate.yaml")
	_, err := Load(path)
	want := path + ":8: phases[1].rate: must be > 0, got -3"
	if err == nil || err.Error() != want {
		t.Fatalf("Load error = %v, want %s", err, want)
	}
}

func TestLoad_Missing(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Load error = %v, want os.ErrNotExist", err)
	}
}

func TestLoad_TooLarge(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big.yaml")
	data := base + "description: " + strings.Repeat("x", MaxFileSize) + "\n"
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path)
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "file too large") {
		t.Fatalf("Load error = %v, want file too large", err)
	}
}

func TestParse_Defaults(t *testing.T) {
	sc, err := Parse("x.yaml", []byte(base))
	if err != nil {
		t.Fatal(err)
	}
	d := Default()
	if sc.Drain != d.Drain || sc.Coordinator != d.Coordinator || sc.Population != d.Population ||
		sc.Sizes.Kind != "lognormal" || sc.Wait.Poll.FirstDelay != "auto" || !sc.Wait.Push || sc.Seed != 1 {
		t.Errorf("defaults not kept: %+v", sc)
	}
	if sc.Scheduler != nil {
		t.Errorf("Scheduler = %+v, want nil", sc.Scheduler)
	}
	if sc.Phases[0].Name != "constant-0" {
		t.Errorf("phase name = %q", sc.Phases[0].Name)
	}
}

func TestParse_Values(t *testing.T) {
	src := `
model: closed
closed:
  devices: 3
  think: &d {kind: exponential, mean: 2s}
  iterations: 2
seed: 18446744073709551615
uploads: 1e6
sizes:
  kind: mix
  mix:
    - {weight: 1, kind: fixed, value: 4KiB}
    - {weight: 2, kind: pareto, alpha: 1.5, scale: 1000, cap: 2MB}
  multipart_threshold: 6MiB
wait:
  push: off
  push_delay: {kind: uniform, min: 0, max: 250ms}
  poll: {first_delay: 300ms}
delivery: {delay: *d}
storage: {keep_versions: 3}
scheduler:
  due_offsets: [{kind: fixed, value: 1d12h}]
`
	sc, err := Parse("x.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if sc.Seed != 1<<64-1 || sc.Uploads != 1_000_000 {
		t.Errorf("seed %d uploads %d", sc.Seed, sc.Uploads)
	}
	if got := sc.Sizes.Mix[0].Value; got != 4096 {
		t.Errorf("4KiB = %v", got)
	}
	if got := sc.Sizes.Mix[1].Cap; got != 2e6 {
		t.Errorf("2MB = %v", got)
	}
	if sc.Sizes.MultipartThreshold != 6*MiB || sc.Sizes.PartSize != 5*MiB {
		t.Errorf("multipart %d/%d", sc.Sizes.MultipartThreshold, sc.Sizes.PartSize)
	}
	if sc.Wait.Push {
		t.Error("push: off decoded as true")
	}
	if sc.Wait.PushDelay.Max != 0.25 {
		t.Errorf("250ms = %v s", sc.Wait.PushDelay.Max)
	}
	if sc.Wait.Poll.FirstDelayFixed != 300*time.Millisecond {
		t.Errorf("first delay %v", sc.Wait.Poll.FirstDelayFixed)
	}
	if sc.Storage.KeepVersions != 3 {
		t.Errorf("storage.keep_versions = %d, want 3", sc.Storage.KeepVersions)
	}
	if sc.Delivery.Delay.Kind != "exponential" || sc.Delivery.Delay.Mean != 2 || sc.Delivery.Delay.Sigma != 0 {
		t.Errorf("alias delay = %+v", sc.Delivery.Delay)
	}
	if sc.Scheduler == nil || sc.Scheduler.Strategy != "self-rescheduling" || sc.Scheduler.Interval != 5*time.Minute ||
		len(sc.Scheduler.DueOffsets) != 1 || sc.Scheduler.DueOffsets[0].Value != 36*3600 {
		t.Errorf("scheduler defaults = %+v", sc.Scheduler)
	}
}

func TestParse_MergeKey(t *testing.T) {
	src := base + `
delivery:
  delay: &slow {kind: lognormal, median: 100ms, sigma: 1}
wait:
  push_delay:
    <<: *slow
    sigma: 2
`
	sc, err := Parse("x.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if d := sc.Wait.PushDelay; d.Kind != "lognormal" || d.Median != 0.1 || d.Sigma != 2 {
		t.Errorf("merged = %+v", d)
	}
}
