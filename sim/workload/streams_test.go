package workload

import "testing"

func draws(s interface{ Uint64() uint64 }, n int) []uint64 {
	out := make([]uint64, n)
	for i := range out {
		out[i] = s.Uint64()
	}
	return out
}

func equal(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestStreams_Deterministic(t *testing.T) {
	a := draws(NewStreams(7).Rand("sizes"), 10)
	b := draws(NewStreams(7).Rand("sizes"), 10)
	if !equal(a, b) {
		t.Fatal("same seed and name gave different sequences")
	}
}

func TestStreams_Independence(t *testing.T) {
	// Using other streams first, or adding new ones, must not shift a
	// stream.
	want := draws(NewStreams(7).Rand("sizes"), 10)
	s := NewStreams(7)
	draws(s.Rand("arrivals"), 100)
	draws(s.Rand("brand-new-stream"), 3)
	if got := draws(s.Rand("sizes"), 10); !equal(got, want) {
		t.Fatal("other streams shifted the sizes stream")
	}
}

func TestStreams_Distinct(t *testing.T) {
	tests := []struct {
		name string
		a, b []uint64
	}{
		{"names", draws(NewStreams(7).New("a"), 4), draws(NewStreams(7).New("b"), 4)},
		{"seeds", draws(NewStreams(7).New("a"), 4), draws(NewStreams(8).New("a"), 4)},
		{"sub vs stream", draws(NewStreams(7).New("a"), 4), draws(NewStreams(7).Sub("a", 0), 4)},
		{"subs", draws(NewStreams(7).Sub("a", 0), 4), draws(NewStreams(7).Sub("a", 1), 4)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if equal(tt.a, tt.b) {
				t.Errorf("sequences equal: %v", tt.a)
			}
		})
	}
}

func TestStreams_RandCached(t *testing.T) {
	s := NewStreams(1)
	if s.Rand("x") != s.Rand("x") {
		t.Error("Rand returned a new generator for the same name")
	}
	if s.New("x") == s.New("x") {
		t.Error("New returned a shared generator")
	}
	if s.Seed("x") != NewStreams(1).Seed("x") || s.Seed("x") == s.Seed("y") {
		t.Error("Seed not deterministic or not distinct")
	}
}
