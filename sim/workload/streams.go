package workload

import (
	"crypto/sha256"
	"encoding/binary"
	"math/rand/v2"
	"sync"
)

// Stream names used by the harness. Any other name works too; a name's
// sequence depends only on the root seed and the name.
const (
	StreamArrivals  = "arrivals"  // Poisson gaps
	StreamUsers     = "users"     // which user uploads
	StreamDevices   = "devices"   // which of the user's devices
	StreamPaths     = "paths"     // hot or not, which file
	StreamStaleness = "staleness" // how stale the base is
	StreamSizes     = "sizes"     // upload sizes
	StreamContent   = "content"   // content seeds
	StreamClosed    = "closed"    // closed model, one sub-stream per device
	StreamFollow    = "follow"    // which uploads are follow-on edits
	StreamFaults    = "faults"
	StreamDelivery  = "delivery"
	StreamPush      = "push"
)

// Streams splits one root seed into independent named generators. Each
// name's seed is derived by SHA-256 over the root seed and the name, so
// streams do not overlap and adding one does not shift any other.
type Streams struct {
	root uint64

	mu    sync.Mutex
	cache map[string]*rand.Rand
}

// NewStreams returns the streams of root seed seed.
func NewStreams(seed uint64) *Streams {
	return &Streams{root: seed, cache: map[string]*rand.Rand{}}
}

// RootSeed returns the seed the streams were made from.
func (s *Streams) RootSeed() uint64 { return s.root }

// Rand returns the generator of stream name, the same one on every call
// with that name. Rand itself is safe for concurrent use; the returned
// generator is not (give each goroutine its own stream or use New).
func (s *Streams) Rand(name string) *rand.Rand {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.cache[name]
	if !ok {
		r = s.New(name)
		s.cache[name] = r
	}
	return r
}

// New returns a fresh generator at the start of stream name.
func (s *Streams) New(name string) *rand.Rand {
	a, b := s.derive(name, nil)
	return rand.New(rand.NewPCG(a, b))
}

// Sub returns a fresh generator for member i of a family of streams (for
// example one per device), independent of the stream name itself.
func (s *Streams) Sub(name string, i uint64) *rand.Rand {
	var idx [8]byte
	binary.LittleEndian.PutUint64(idx[:], i)
	a, b := s.derive(name, idx[:])
	return rand.New(rand.NewPCG(a, b))
}

// Seed returns a 64-bit seed derived from stream name, for consumers that
// seed something else (e.g. content generation).
func (s *Streams) Seed(name string) uint64 {
	a, _ := s.derive(name, nil)
	return a
}

func (s *Streams) derive(name string, sub []byte) (uint64, uint64) {
	h := sha256.New()
	var buf [8]byte
	binary.LittleEndian.PutUint64(buf[:], s.root)
	h.Write([]byte("stormsim/workload/v1\x00"))
	h.Write(buf[:])
	h.Write([]byte(name))
	if sub != nil {
		// The separator keeps ("a", sub) apart from a name that happens to
		// end in the same bytes.
		h.Write([]byte{0xff})
		h.Write(sub)
	}
	sum := h.Sum(nil)
	return binary.LittleEndian.Uint64(sum[:8]), binary.LittleEndian.Uint64(sum[8:16])
}
