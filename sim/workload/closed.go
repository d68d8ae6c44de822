package workload

import (
	"math/rand/v2"

	"github.com/stormsim/stormsim/scenarios"
)

// deviceState is one closed-model device's position in its own stream.
type deviceState struct {
	r    *rand.Rand
	iter int64
}

// ClosedDevice maps closed-model device d (0 <= d < Closed.Devices) to its
// user and device-of-user. Devices are spread over users first, so 100
// devices over 50 users give each user two.
func ClosedDevice(sc *scenarios.Scenario, d int) (user, device int) {
	users := max(sc.Population.Users, 1)
	return d % users, (d / users) % max(sc.Population.DevicesPerUser, 1)
}

// NextFor returns closed-model device d's next upload: Arrival.At is the
// think time (sampled from Closed.Think) to wait after the previous
// outcome, or after the start for the first upload, which staggers the
// devices. Seq is iteration*Devices + d, unique and independent of how
// devices interleave. It returns false when the device has done
// Closed.Iterations uploads, for an open-model plan, or for d out of
// range; the scenario's duration and upload caps are the runner's to
// enforce, since they depend on how fast the system answers.
//
// Every device draws from its own stream, so its sequence does not depend
// on timing. NextFor is safe for concurrent use by different devices;
// calls for the same device must not overlap.
func (p *Plan) NextFor(d int) (Arrival, bool) {
	if d < 0 || d >= len(p.closed) {
		return Arrival{}, false
	}
	st := &p.closed[d]
	c := &p.sc.Closed
	if c.Iterations > 0 && st.iter >= int64(c.Iterations) {
		return Arrival{}, false
	}
	if st.r == nil {
		st.r = p.streams.Sub(StreamClosed, uint64(d))
	}
	pop := &p.sc.Population
	a := Arrival{
		Seq:   st.iter*int64(len(p.closed)) + int64(d),
		At:    seconds(Sample(c.Think, st.r)),
		Phase: "closed",
	}
	a.User, a.Device = ClosedDevice(p.sc, d)
	a.File, a.Hot = pickFile(pop, st.r)
	a.Stale = pickStale(pop, st.r)
	a.Size = sizeOf(p.sc.Sizes.Dist, st.r)
	a.ContentSeed = st.r.Uint64()
	st.iter++
	return a, true
}
