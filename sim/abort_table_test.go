package sim

import (
	"testing"

	"github.com/stormsim/stormsim/scenarios"
)

// TestLiveMetrics_Table_Same: mid-run abort reads exactly the metrics
// scenarios.Metrics marks Live: a progress reader for a metric the table
// does not mark is dead, a Live metric without one is never judged early.
func TestLiveMetrics_Table_Same(t *testing.T) {
	for _, m := range scenarios.Metrics {
		if _, ok := liveMetrics[m.Name]; ok != m.Live {
			t.Errorf("%s: progress reader %v, table Live %v", m.Name, ok, m.Live)
		}
	}
	for name := range liveMetrics {
		if _, ok := scenarios.LookupMetric(name); !ok {
			t.Errorf("liveMetrics reads %s, which is not a gate metric", name)
		}
	}
}
