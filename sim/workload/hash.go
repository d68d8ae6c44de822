package workload

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"

	"github.com/stormsim/stormsim/scenarios"
)

// hashClosedIterations bounds the per-device iterations Hash covers for a
// closed model with neither iterations nor an upload cap.
const hashClosedIterations = 1000

// Hash returns a hex SHA-256 over every planned arrival of sc with seed
// (seq, instant, phase, user, device, file, hot, staleness, size, content
// seed, follow-on): the same scenario and seed give the same hash. It streams the
// plan, holding none of it. For the closed model it covers each device's
// first Closed.Iterations uploads (or ceil(uploads/devices) of them, or
// 1000), device by device. A scheduler section adds every planned
// scheduler event (see Events).
func Hash(sc *scenarios.Scenario, seed uint64) string {
	p := NewPlan(sc, seed)
	h := sha256.New()
	// One buffer for every arrival: bytes handed to an interface's Write
	// escape, and a fresh array per arrival was two allocations each
	// (13M uploads: 26M allocations the garbage collector chased).
	b := make([]byte, 0, 128)
	h.Write([]byte("stormsim/workload/v1\x00" + sc.Model + "\x00"))
	if sc.Model == "closed" {
		per := int64(sc.Closed.Iterations)
		if per == 0 && sc.Uploads > 0 && sc.Closed.Devices > 0 {
			per = (sc.Uploads + int64(sc.Closed.Devices) - 1) / int64(sc.Closed.Devices)
		}
		if per == 0 {
			per = hashClosedIterations
		}
		for d := range sc.Closed.Devices {
			for range per {
				a, ok := p.NextFor(d)
				if !ok {
					break
				}
				b = writeArrival(h, b, &a)
			}
		}
	} else {
		for a, ok := p.Next(); ok; a, ok = p.Next() {
			b = writeArrival(h, b, &a)
		}
	}
	if sc.Scheduler != nil {
		h.Write([]byte("\x00scheduler\x00"))
		e := NewEvents(sc, seed)
		var b [40]byte
		for ev, ok := e.Next(); ok; ev, ok = e.Next() {
			le := binary.LittleEndian
			le.PutUint64(b[0:], uint64(ev.Seq))
			le.PutUint64(b[8:], uint64(ev.User))
			le.PutUint64(b[16:], uint64(ev.Index))
			le.PutUint64(b[24:], uint64(ev.SignUp))
			le.PutUint64(b[32:], uint64(ev.Due))
			h.Write(b[:])
		}
	}
	if sc.Regions != nil {
		h.Write([]byte("\x00regions\x00"))
		// %+v prints struct fields in declaration order and the section
		// holds no maps, so the text is canonical.
		fmt.Fprintf(h, "%+v", *sc.Regions)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func writeArrival(h hash.Hash, buf []byte, a *Arrival) []byte {
	le := binary.LittleEndian
	b := le.AppendUint64(buf[:0], uint64(a.Seq))
	b = le.AppendUint64(b, uint64(a.At))
	b = le.AppendUint64(b, uint64(a.User))
	b = le.AppendUint64(b, uint64(a.Device))
	b = le.AppendUint64(b, uint64(a.File))
	b = le.AppendUint64(b, uint64(a.Stale))
	b = le.AppendUint64(b, uint64(a.Size))
	b = le.AppendUint64(b, a.ContentSeed)
	b = le.AppendUint64(b, uint64(len(a.Phase)))
	hot := byte(0)
	if a.Hot {
		hot = 1
	}
	b = append(b, hot)
	b = append(b, a.Phase...)
	if a.Follow {
		// Only follow-on edits add a byte: plans without them keep the
		// hashes they had before follow-on edits existed.
		b = append(b, 'f')
	}
	h.Write(b)
	return b
}
