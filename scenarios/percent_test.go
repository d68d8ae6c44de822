package scenarios

import (
	"strings"
	"testing"
)

// Fractions accept a percentage, as gates do: "hot_share: 20%".
func TestParse_Fraction_Percent(t *testing.T) {
	tests := []struct {
		name, yaml string
		get        func(*Scenario) float64
		want       float64
	}{
		{"hot_share percent", "population: {hot_files: 1, hot_share: 20%}\n", func(s *Scenario) float64 { return s.Population.HotShare }, 0.2},
		{"hot_share fraction", "population: {hot_files: 1, hot_share: 0.2}\n", func(s *Scenario) float64 { return s.Population.HotShare }, 0.2},
		{"stale_share percent", "population: {stale_share: 2.5 %}\n", func(s *Scenario) float64 { return s.Population.StaleShare }, 0.025},
		{"push_loss percent", "wait: {push_loss: 10%}\n", func(s *Scenario) float64 { return s.Wait.PushLoss }, 0.1},
		{"delivery duplicate percent", "delivery: {duplicate: 5%}\n", func(s *Scenario) float64 { return s.Delivery.Duplicate }, 0.05},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc, err := Parse("x.yaml", []byte(base+tt.yaml))
			if err != nil {
				t.Fatal(err)
			}
			if got := tt.get(sc); got < tt.want-1e-12 || got > tt.want+1e-12 {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParse_Fraction_BadPercent(t *testing.T) {
	tests := []struct{ name, yaml, want string }{
		{"not a number", "population: {hot_files: 1, hot_share: lots%}\n",
			`x.yaml:3: population.hot_share: not a fraction like 0.2 or a percentage like "20%", got "lots%"`},
		{"over 100%", "population: {hot_files: 1, hot_share: 120%}\n",
			"x.yaml:3: population.hot_share: must be in [0, 1], got 120%"},
		{"percent on a rate", "phases:\n  - {kind: constant, rate: 20%, duration: 1s}\n",
			`x.yaml:2: phases[0].rate: must be a number, got "20%"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := base + tt.yaml
			if strings.HasPrefix(tt.yaml, "phases") {
				src = tt.yaml
			}
			_, err := Parse("x.yaml", []byte(src))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
}
