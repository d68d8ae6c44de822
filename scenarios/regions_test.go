package scenarios

import (
	"errors"
	"strings"
	"testing"
)

// regionsBase is a valid two-region scenario; cases replace parts of it.
const regionsBase = `phases: [{kind: constant, rate: 10, duration: 1s}]
population: {users: 4, devices_per_user: 2}
regions:
  list:
    - {name: eu, users: 0.5, devices: 1}
    - {name: us, users: 0.5, devices: 1}
  latency:
    - {from: eu, to: us, latency: 40ms}
`

func TestParse_Regions_Valid(t *testing.T) {
	sc, err := Parse("x.yaml", []byte(regionsBase))
	if err != nil {
		t.Fatal(err)
	}
	r := sc.Regions
	if r.Reads != DefaultRegionReads || r.Replication.Attempts != DefaultReplicationAttempt || r.LatencyBetween(1, 0) != r.Latency[0].Latency {
		t.Errorf("defaults or latency: %+v", r)
	}
}

func TestParse_Regions_Bad(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"shares", strings.Replace(regionsBase, "users: 0.5, devices: 1}\n  latency", "users: 0.4, devices: 1}\n  latency", 1),
			"x.yaml:4: regions.list: users shares must sum to 1 (or set regions.pin), got 0.9"},
		{"devices", strings.Replace(regionsBase, "devices_per_user: 2", "devices_per_user: 3", 1),
			"x.yaml:4: regions.list: devices must sum to population.devices_per_user=3, got 2"},
		{"unknown region in latency", strings.Replace(regionsBase, "to: us", "to: ap", 1),
			"x.yaml:8: regions.latency[0].to: must name a region of regions.list, got \"ap\""},
		{"missing pair", regionsBase + "    - {from: us, to: eu, latency: 1ms}\n",
			"x.yaml:9: regions.latency[1]: pair us-eu listed twice"},
		{"bad name", strings.Replace(regionsBase, "name: us", "name: \"u s\"", 1),
			"x.yaml:6: regions.list[1].name: must be 1..32 characters of [A-Za-z0-9._-], got \"u s\""},
		{"unknown field", regionsBase + "  lag: 1s\n",
			"x.yaml:9: regions.lag: unknown field"},
		{"fault region", regionsBase + "  faults: [{kind: region-partition, region: ap, start: 0s, end: 1s}]\n",
			"x.yaml:9: regions.faults[0].region: must name a region of regions.list, got \"ap\""},
		{"fault field unused", regionsBase + "  faults: [{kind: region-redis-down, region: eu, start: 0s, end: 1s, latency: 1s}]\n",
			"x.yaml:9: regions.faults[0].latency: not used by kind \"region-redis-down\" (it uses region)"},
		{"fault kind", regionsBase + "  faults: [{kind: region-fire, start: 0s, end: 1s}]\n",
			"x.yaml:9: regions.faults[0].kind: must be one of"},
		{"with scheduler faults", regionsBase + "faults: [{kind: redis-outage, start: 0s, end: 1s}]\n",
			"x.yaml:9: faults: not supported with regions (use regions.faults)"},
		{"strategy", regionsBase + "coordinator: {strategy: s3-conditional}\n",
			"x.yaml:9: coordinator.strategy: must be redis-lock with regions"},
		{"unused knob", regionsBase + "delivery: {duplicate: 0.1}\n",
			"x.yaml:9: delivery.duplicate: not supported with regions"},
		{"pin", regionsBase + "  pin: ap\n",
			"x.yaml:9: regions.pin: must name a region of regions.list, got \"ap\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("x.yaml", []byte(tt.yaml))
			if err == nil || !errors.Is(err, ErrInvalid) {
				t.Fatalf("Parse: %v, want an ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error\n%v\nlacks %q", err, tt.want)
			}
		})
	}
}
