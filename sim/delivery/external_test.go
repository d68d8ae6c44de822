package delivery

import (
	"encoding/json"
	"testing"

	"github.com/stormsim/stormsim/coordinator"
)

type recordingObserver struct{ got []coordinator.Decision }

func (o *recordingObserver) Decided(d coordinator.Decision) { o.got = append(o.got, d) }

// TestExternalHandler_Apply_RecoveredDecisions: a decision recovered from
// Redis stands in for a lost report, never doubles a real one, and real
// duplicate reports still reach the history.
func TestExternalHandler_Apply_RecoveredDecisions(t *testing.T) {
	decision := func(id string, recovered bool) map[string]any {
		doc, _ := json.Marshal(coordinator.Decision{Result: coordinator.Result{ID: id, State: coordinator.StateCommitted}})
		v := map[string]any{coordinator.FeedbackDecision: string(doc)}
		if recovered {
			v[coordinator.FeedbackRecovered] = "1"
		}
		return v
	}
	tests := []struct {
		name      string
		feed      []bool // recovered?
		wantCount int
	}{
		{"reported", []bool{false}, 1},
		{"reported then recovered", []bool{false, true}, 1},
		{"lost report, recovered", []bool{true}, 1},
		{"recovered twice", []bool{true, true}, 1},
		{"recovered, then the late report", []bool{true, false}, 1},
		{"reported twice: a real duplicate", []bool{false, false}, 2},
		{"recovered, late report, duplicate report", []bool{true, false, false}, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			obs := &recordingObserver{}
			h := &Feed{obs: obs, decided: map[string]bool{}, waiters: map[string]chan bool{}, finished: map[string]bool{}}
			for _, rec := range tc.feed {
				h.apply(decision("u1", rec))
			}
			if len(obs.got) != tc.wantCount {
				t.Errorf("%d decisions recorded, want %d", len(obs.got), tc.wantCount)
			}
		})
	}
}

func TestExternalHandler_Apply_DoneBeforeWait(t *testing.T) {
	h := &Feed{decided: map[string]bool{}, waiters: map[string]chan bool{}, finished: map[string]bool{}}
	h.apply(map[string]any{coordinator.FeedbackDone: "1-0", coordinator.FeedbackDead: "0"})
	ch := make(chan bool, 1)
	h.waiters["2-0"] = ch
	h.apply(map[string]any{coordinator.FeedbackDone: "2-0", coordinator.FeedbackDead: "1"})
	if dead, ok := h.finished["1-0"]; !ok || dead {
		t.Errorf("early completion not kept: %v %v", dead, ok)
	}
	if dead := <-ch; !dead {
		t.Errorf("waiter not told the entry died")
	}
}
