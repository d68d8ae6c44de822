package miniredis

// stormsim fork; this file builds on upstream too (STORMSIM.md).

import (
	"strconv"
	"testing"
	"time"
)

// BenchmarkFastForward_240kKeys is one clock step of the harness over
// the keys with a TTL a run at 1,000 uploads/s holds (a result and a
// commit record per upload, 2 minutes' worth), none of them due.
func BenchmarkFastForward_240kKeys(b *testing.B) {
	s := RunT(b)
	for i := 0; i < 240000; i++ {
		k := "stormsim:result:u" + strconv.Itoa(i)
		s.Set(k, "v")
		s.SetTTL(k, time.Hour)
	}
	for b.Loop() {
		s.FastForward(time.Millisecond)
	}
}
