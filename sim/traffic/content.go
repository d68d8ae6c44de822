package traffic

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"io"
	"math/rand/v2"
	"sync"
)

// content is an upload's payload: size bytes generated from a seed, so it
// can be produced twice (once to hash it for the metadata, once as the
// body) without ever being held whole in memory.
type content struct {
	seed uint64
	size int64
}

// maxBuffered is the largest content generated once into memory, hashed
// and sent from there (bytes); larger content is generated twice, for
// the hash and as the body, and never held whole. Past a few KiB the
// buffer costs more in allocated bytes (and GC) than the second pass
// costs in CPU: at 64 KiB, buffering added a third to a PUT's B/op.
const maxBuffered = 16 << 10

// key is the content's ChaCha8 seed.
func (c content) key() [32]byte {
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:], c.seed)
	binary.LittleEndian.PutUint64(key[8:], 0x73746f726d73696d) // "stormsim"
	return key
}

// reader returns a fresh stream of the content.
func (c content) reader() io.Reader {
	return io.LimitReader(rand.NewChaCha8(c.key()), c.size)
}

// bytes returns the content whole (the same bytes reader streams) and
// its SHA-256 in hex: one pass of the generator, one of the hash.
func (c content) bytes() ([]byte, string) {
	b := make([]byte, c.size)
	g := generators.Get().(*rand.ChaCha8)
	g.Seed(c.key())
	_, _ = g.Read(b)
	generators.Put(g)
	sum := sha256.Sum256(b)
	return b, hex.EncodeToString(sum[:])
}

// generators recycle the content generators' state (a ChaCha8 is about
// 300 bytes).
var generators = sync.Pool{New: func() any { return rand.NewChaCha8([32]byte{}) }}

// hashBufs recycles the copy buffers of sha256: thousands of devices hash
// at once in a burst.
var hashBufs = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// sha256 hashes the stream.
func (c content) sha256() string {
	h := sha256.New()
	buf := hashBufs.Get().(*[]byte)
	_, _ = io.CopyBuffer(h, c.reader(), *buf)
	hashBufs.Put(buf)
	return hex.EncodeToString(h.Sum(nil))
}
