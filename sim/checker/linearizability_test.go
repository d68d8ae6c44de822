package checker

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/stormsim/stormsim/sim/history"
)

// mutate breaks a correct history at random the ways a faulty coordinator
// might: wrong bases, flipped decisions, shifted decision times, a wrong
// final.
func mutate(r *rand.Rand, s *history.Set) {
	for i := range s.Commits {
		c := &s.Commits[i]
		switch r.IntN(8) {
		case 0:
			c.Base += int64(r.IntN(3)) - 1
		case 1:
			c.At = c.At.Add(time.Duration(r.IntN(60)-30) * time.Millisecond)
		case 2: // the winner is told it lost
			s.Conflicts = append(s.Conflicts, history.Conflict{ID: c.ID, User: c.User, Path: c.Path, Base: c.Base, Head: c.Version, Copy: "x", At: c.At})
			c.ID = "gone-" + c.ID
		}
	}
	for i := range s.Conflicts {
		c := &s.Conflicts[i]
		switch r.IntN(8) {
		case 0:
			c.Base += int64(r.IntN(3)) - 1
		case 1:
			c.At = c.At.Add(time.Duration(r.IntN(60)-30) * time.Millisecond)
		}
	}
	if r.IntN(8) == 0 && len(s.Finals) > 0 {
		s.Finals[0].Version--
	}
}

// TestLinearizability_ReductionsAgree: pruning and splitting give the same
// verdict per file as plain porcupine on the whole file.
func TestLinearizability_ReductionsAgree(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	var legal, illegal int
	for i := range 3000 {
		s := generate(genConfig{seed: uint64(i), uploads: 3 + r.IntN(8), users: 1, filesPerUser: 1 + r.IntN(2),
			span: time.Duration(5+r.IntN(60)) * time.Millisecond, stale: 0.2})
		if i%3 != 0 {
			mutate(r, s)
		}
		ix := newIndex(s)
		o := Options{}.withDefaults()
		full := linearizability(ix, o, linConfig{chain: true, prune: true, split: true})
		plain := linearizability(ix, o, linConfig{})
		for _, cfg := range []linConfig{{chain: true}, {prune: true}, {split: true}} {
			if got := linearizability(ix, o, cfg); got.Violations != plain.Violations {
				t.Fatalf("history %d: %+v found %d violations, plain porcupine %d", i, cfg, got.Violations, plain.Violations)
			}
		}
		if full.Violations != plain.Violations || full.Inconclusive || plain.Inconclusive {
			t.Fatalf("history %d: reduced %+v, plain %+v", i, full, plain)
		}
		if full.Violations == 0 {
			legal++
		} else {
			illegal++
		}
	}
	if legal < 1000 || illegal < 500 {
		t.Errorf("weak test: %d legal, %d illegal histories", legal, illegal)
	}
	t.Logf("%d legal, %d illegal histories agree", legal, illegal)
}

// hotFile is a burst on one file: n uploads within a second, bases from the
// head each device saw, so about one commit per base and many conflicts.
func hotFile(n int) *history.Set {
	return generate(genConfig{seed: 1, uploads: n, users: 1, filesPerUser: 1, span: time.Second, stale: 0.1})
}

func TestLinearizability_HotFile(t *testing.T) {
	s := hotFile(5000)
	r := Check(s, Options{})
	if !r.OK() {
		t.Fatalf("%+v", r)
	}
	c, _ := r.Find(NameLinearizability)
	t.Logf("%d commits, %d conflicts: %s", len(s.Commits), len(s.Conflicts), c.Detail)
}

// BenchmarkLinearizability_HotFile measures one 5,000-upload file with the
// reductions and with plain porcupine (one search over the whole file,
// capped at 60s: Unknown means it did not finish).
func BenchmarkLinearizability_HotFile(b *testing.B) {
	s := hotFile(5000)
	ix := newIndex(s)
	for _, bc := range []struct {
		name string
		cfg  linConfig
	}{{"reduced", linConfig{chain: true, prune: true, split: true}}, {"split-only", linConfig{split: true}}, {"plain", linConfig{}}} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				r := linearizability(ix, Options{LinearizabilityTimeout: time.Minute, MaxExamples: 10}, bc.cfg)
				if r.Violations != 0 {
					b.Fatalf("%+v", r)
				}
				if r.Inconclusive {
					b.Logf("inconclusive: %s", r.Detail)
				}
			}
		})
	}
}

func TestLinearizability_Model(t *testing.T) {
	v1 := &linOp{commit: true, base: 0, version: 1, sha: "a"}
	tests := []struct {
		name string
		st   linState
		op   *linOp
		ok   bool
	}{
		{"commit on head", linState{}, v1, true},
		{"commit on stale head", linState{1, "a"}, v1, false},
		{"commit skipping a version", linState{}, &linOp{commit: true, base: 0, version: 2}, false},
		{"conflict on stale base", linState{1, "a"}, &linOp{base: 0}, true},
		{"conflict on the head", linState{1, "a"}, &linOp{base: 1}, false},
		{"final read", linState{1, "a"}, &linOp{read: true, version: 1, sha: "a"}, true},
		{"final read, other bytes", linState{1, "a"}, &linOp{read: true, version: 1, sha: "b"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if ok, _ := linStep(tt.st, tt.op); ok != tt.ok {
				t.Errorf("step %v %+v = %v", tt.st, tt.op, ok)
			}
		})
	}
	// The model also drives porcupine: a lone conflict on the initial head
	// is illegal.
	m := linModel(linState{})
	if porcupine.CheckOperations(m, []porcupine.Operation{{Input: &linOp{base: 0}, Call: 0, Return: 1}}) {
		t.Error("porcupine accepted a conflict on the head")
	}
}
