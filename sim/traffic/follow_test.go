package traffic

import (
	"testing"

	"github.com/stormsim/stormsim/scenarios"
	"github.com/stormsim/stormsim/sim/workload"
)

// TestDeviceChain_Link_Follow: a follow-on edit waits for its own
// device's previous upload, nothing else waits, and a scenario without
// follow-on edits links nothing.
func TestDeviceChain_Link_Follow(t *testing.T) {
	sc := &scenarios.Scenario{Model: "open", Population: scenarios.Population{Users: 2, DevicesPerUser: 2},
		Phases: []scenarios.Phase{{Kind: "constant", Follow: 0.5}}}
	c := newDeviceChain(sc)
	var a0, a1, a2, a3 arrival
	d0 := c.link(&a0, workload.Arrival{User: 1, Device: 0})
	d1 := c.link(&a1, workload.Arrival{User: 1, Device: 1, Follow: true}) // other device: nothing to wait for
	c.link(&a2, workload.Arrival{User: 1, Device: 0, Follow: true})
	c.link(&a3, workload.Arrival{User: 1, Device: 1})
	tests := []struct {
		name string
		got  <-chan struct{}
		want <-chan struct{}
	}{
		{"first upload", a0.after, nil},
		{"first of its device", a1.after, nil},
		{"follow-on waits for its device", a2.after, d0},
		{"not a follow-on", a3.after, nil},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: after = %v, want %v", tt.name, tt.got, tt.want)
		}
	}
	if d0 == nil || d1 == nil || d0 == d1 {
		t.Fatal("each upload needs its own done channel")
	}
	if none := newDeviceChain(&scenarios.Scenario{Model: "open", Phases: []scenarios.Phase{{Kind: "constant"}}}); none != nil {
		t.Fatal("a chain without follow-on edits")
	}
}
