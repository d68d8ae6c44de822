package scenarios

import (
	"errors"
	"testing"
)

// TestParse_FaultKeys_Bad: a fault's phase key and evidence requirements
// are validated strictly, each error naming file, line and field.
func TestParse_FaultKeys_Bad(t *testing.T) {
	const ph = "phases:\n  - {kind: burst, name: first, count: 5, at: 0s}\n"
	tests := []struct {
		name, yaml, want string
	}{
		{"unknown phase", ph + "faults:\n  - {kind: handler-crash, step: after-lock, phase: second}\n",
			`x.yaml:4: faults[0].phase: must be one of first, got "second"`},
		{"phase on a kind without steps", ph + "faults:\n  - {kind: event-drop, phase: first}\n",
			`x.yaml:4: faults[0].phase: not used by kind "event-drop" (only handler-crash, handler-pause, redis-lock-expiry, redis-fence-rollback act on one upload's steps)`},
		{"phase without phases", "scheduler: {days: 0.1}\nfaults:\n  - {kind: handler-crash, step: after-lock, phase: first}\n",
			`x.yaml:3: faults[0].phase: names a phase, but the scenario has no phases, got "first"`},
		{"negative min_injected", ph + "faults:\n  - {kind: event-drop, min_injected: -1}\n",
			"x.yaml:4: faults[0].min_injected: must be >= 0, got -1"},
		{"min_taken on a kind that does not stall", ph + "faults:\n  - {kind: handler-pause, latency: 1s, min_taken: 2}\n",
			`x.yaml:4: faults[0].min_taken: not used by kind "handler-pause" (only redis-lock-expiry and redis-fence-rollback stall)`},
		{"negative min_overtaken", ph + "faults:\n  - {kind: redis-lock-expiry, step: after-lock, latency: 1s, min_overtaken: -2}\n",
			"x.yaml:4: faults[0].min_overtaken: must be >= 0, got -2"},
		{"bad evidence", ph + "evidence:\n  - uploads.nonsense > 0\n",
			`x.yaml:4: evidence[0]: unknown metric "uploads.nonsense", got "uploads.nonsense > 0"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("x.yaml", []byte(tt.yaml))
			if err == nil {
				t.Fatalf("Parse succeeded, want %q", tt.want)
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("error:\n got %s\nwant %s", got, tt.want)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Error("errors.Is(err, ErrInvalid) = false")
			}
		})
	}
}

// TestParse_FaultKeys_Values: the keys load as written.
func TestParse_FaultKeys_Values(t *testing.T) {
	sc, err := Parse("x.yaml", []byte(`phases:
  - {kind: burst, name: first, count: 5, at: 0s}
faults:
  - {kind: redis-lock-expiry, phase: first, step: after-commit, latency: 1s, min_injected: 5, min_taken: 2, min_overtaken: 1}
evidence:
  - uploads.committed_v2plus > 0
`))
	if err != nil {
		t.Fatal(err)
	}
	f := sc.Faults[0]
	if f.Phase != "first" || f.MinInjected != 5 || f.MinTaken != 2 || f.MinOvertaken != 1 {
		t.Errorf("fault = %+v", f)
	}
	if len(sc.ParsedEvidence) != 1 || sc.ParsedEvidence[0].Metric != "uploads.committed_v2plus" {
		t.Errorf("evidence = %+v", sc.ParsedEvidence)
	}
}
