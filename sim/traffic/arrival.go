package traffic

import (
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/stormsim/stormsim/scenarios"
	"github.com/stormsim/stormsim/sim/workload"
)

// Shard is slice I of N of a scenario's users.
type Shard struct{ I, N int }

// Owns reports whether the shard drives user u.
func (s Shard) Owns(u int) bool { return s.N <= 1 || u%s.N == s.I }

type arrival struct {
	id, user, device, path string
	phase                  string
	fileIndex              int
	size                   int64
	stale                  int
	contentSeed            uint64
	intended               time.Time
	// after, for a follow-on edit, is closed when the device's previous
	// upload (of the same file) has ended: the edit starts from the head
	// that upload taught it.
	after    <-chan struct{}
	slotWait time.Duration // waited for an in-flight slot (MaxInFlight)
}
type config struct {
	push               bool
	firstDelay         time.Duration
	autoFirst          bool
	pollInterval       time.Duration
	maxInterval        time.Duration
	backoff            float64
	maxPolls           int
	pollTimeout        time.Duration
	multipartThreshold int64
	partSize           int64
}

func newConfig(sc *scenarios.Scenario) config {
	p := sc.Wait.Poll
	c := config{push: sc.Wait.Push, firstDelay: p.FirstDelayFixed, autoFirst: p.FirstDelay == "auto" || p.FirstDelay == "",
		pollInterval: p.Interval, maxInterval: p.MaxInterval, backoff: p.Backoff, maxPolls: p.MaxPolls,
		pollTimeout: p.Timeout, multipartThreshold: sc.Sizes.MultipartThreshold, partSize: sc.Sizes.PartSize}
	if c.pollInterval <= 0 {
		c.pollInterval = 100 * time.Millisecond
	}
	if c.maxInterval < c.pollInterval {
		c.maxInterval = c.pollInterval
	}
	if c.backoff < 1 {
		c.backoff = 1
	}
	if c.pollTimeout <= 0 {
		c.pollTimeout = 30 * time.Second
	}
	if c.multipartThreshold <= 0 {
		c.multipartThreshold = 8 << 20
	}
	if c.partSize < 5<<20 {
		c.partSize = 5 << 20
	}
	return c
}

// heads is each file's latest version as the devices know it: what a sync
// client would hold after its pushes.
type heads struct{ v []atomic.Int64 }

func newHeads(n int) *heads      { return &heads{v: make([]atomic.Int64, max(n, 1))} }
func (h *heads) get(i int) int64 { return h.v[i].Load() }
func (h *heads) learn(i int, version int64) {
	for {
		old := h.v[i].Load()
		if version <= old || h.v[i].CompareAndSwap(old, version) {
			return
		}
	}
}

// namer turns planned arrivals into names and ids.
type namer struct {
	sc    *scenarios.Scenario
	idKey uint64
}

func newNamer(seed uint64, sc *scenarios.Scenario) *namer {
	return &namer{sc: sc, idKey: rand.New(rand.NewPCG(seed, 0x1d)).Uint64()}
}
func (n *namer) arrival(a workload.Arrival, start time.Time) arrival {
	p := n.sc.Population
	return arrival{
		id:          fmt.Sprintf("%016x-%08x", n.idKey, a.Seq),
		user:        fmt.Sprintf("u%05d", a.User),
		device:      fmt.Sprintf("dev%02d", a.Device),
		path:        filePath(a.File, p.HotFiles),
		phase:       a.Phase,
		fileIndex:   a.User*p.FilesPerUser + a.File,
		size:        a.Size,
		stale:       a.Stale,
		contentSeed: a.ContentSeed,
		intended:    start.Add(a.At),
	}
}

var exts = []string{".txt", ".docx", ".jpg", ".pdf", ""}

func filePath(file, hot int) string {
	if file < hot {
		return fmt.Sprintf("shared/hot-%d%s", file, exts[file%len(exts)])
	}
	return fmt.Sprintf("docs/file-%04d%s", file, exts[file%len(exts)])
}
