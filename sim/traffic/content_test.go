package traffic

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"testing"
)

// The in-memory content of a small upload must be the very bytes the
// streamed content has (the read-back and the checker hash stored objects
// against the metadata), and its hash the streamed hash.
func TestContent_Bytes_MatchesStream(t *testing.T) {
	for _, size := range []int64{0, 1, 7, 1024, 1000, maxBuffered, maxBuffered + 3} {
		c := content{seed: uint64(size) * 31, size: size}
		got, sum := c.bytes()
		want, err := io.ReadAll(c.reader())
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("size %d: bytes() differs from the stream", size)
		}
		h := sha256.Sum256(want)
		if sum != hex.EncodeToString(h[:]) || sum != c.sha256() {
			t.Errorf("size %d: bytes() hash %s, stream hash %s, sha256() %s", size, sum, hex.EncodeToString(h[:]), c.sha256())
		}
	}
}
