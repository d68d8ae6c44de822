package measure

import (
	"math"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"time"
)

// MemSample is the process's memory at one moment of a run, with the live
// heap split by who allocated it. On the embedded fakes the process holds
// the storage too, so RSS alone cannot tell a harness leak from stored
// objects: HeapFakes is what gofakes3 and miniredis allocated and still
// hold (objects, metadata, keys and their indexes), HeapHarness everything
// else (devices, HTTP clients and servers, delivery, history, measurement).
type MemSample struct {
	At          time.Duration // since the run started
	Uploads     int64         // uploads started so far
	RSS         int64         // resident set size at the sample
	HeapHarness int64
	HeapFakes   int64
}

// fakePackages are the import paths whose allocations count as the fakes'
// (the skiplist is the S3 backend's index; gopher-lua runs miniredis's
// scripts).
var fakePackages = []string{
	"github.com/johannesboyne/gofakes3",
	"github.com/stormsim/stormsim/internal/objstore",
	"github.com/alicebob/miniredis/",
	"github.com/ryszard/goskiplist/",
	"github.com/yuin/gopher-lua",
}

// heapSplitter attributes the live heap from the runtime's heap profile.
// The profile is sampled (runtime.MemProfileRate) and reflects the last
// completed GC, so the split is an unbiased estimate, scaled the way
// runtime/pprof scales it. At the default rate (512 KiB) a heap of 100 MiB
// is about 200 samples; finer sampling cost simrun 6% of a run's CPU.
type heapSplitter struct {
	recs []runtime.MemProfileRecord
	fake map[[32]uintptr]bool // allocation stack -> a fake allocated it
}

func newHeapSplitter() *heapSplitter {
	return &heapSplitter{fake: map[[32]uintptr]bool{}}
}

// split returns the estimated live heap bytes allocated by the harness and
// by the fakes.
func (h *heapSplitter) split() (harness, fakes int64) {
	n, ok := runtime.MemProfile(h.recs, false)
	for !ok {
		h.recs = make([]runtime.MemProfileRecord, n+n/4+64)
		n, ok = runtime.MemProfile(h.recs, false)
	}
	rate := int64(runtime.MemProfileRate)
	for i := range h.recs[:n] {
		rec := &h.recs[i]
		b := scaledInUse(rec.InUseObjects(), rec.InUseBytes(), rate)
		if h.isFake(rec.Stack0) {
			fakes += b
		} else {
			harness += b
		}
	}
	return harness, fakes
}

func (h *heapSplitter) isFake(stack [32]uintptr) bool {
	if v, ok := h.fake[stack]; ok {
		return v
	}
	v := false
	frames := runtime.CallersFrames(trimStack(stack[:]))
	for {
		f, more := frames.Next()
		for _, p := range fakePackages {
			if strings.HasPrefix(f.Function, p) {
				v = true
			}
		}
		if v || !more {
			break
		}
	}
	h.fake[stack] = v
	return v
}

func trimStack(s []uintptr) []uintptr {
	for i, pc := range s {
		if pc == 0 {
			return s[:i]
		}
	}
	return s
}

// scaledInUse undoes the heap profile's sampling: an allocation of size s
// is sampled with probability 1-exp(-s/rate) (runtime/pprof scaleHeapSample).
func scaledInUse(count, size, rate int64) int64 {
	if count <= 0 || size <= 0 {
		return 0
	}
	if rate <= 1 {
		return size
	}
	avg := float64(size) / float64(count)
	return int64(float64(size) / (1 - math.Exp(-avg/float64(rate))))
}

// residentBytes is the process's resident set size now (0 where
// /proc/self/statm does not exist).
func residentBytes() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return 0
	}
	return pages * int64(os.Getpagesize())
}

// MemSampler samples memory every interval until stopped; the run owns it.
type MemSampler struct {
	split   *heapSplitter
	start   time.Time
	uploads func() int64

	mu      sync.Mutex // guards samples
	samples []MemSample

	done chan struct{}
	wg   sync.WaitGroup
}

// StartMemSampler samples now and then about every interval. The heap
// profile's in-use figures are those of a completed GC cycle up to two
// cycles back (runtime.MemProfile), and on a heap of gigabytes cycles are
// far apart, so a sample would show the harness's garbage since then as
// growth: a sample is taken right after a full GC, forced unless two
// cycles have completed since the last sample anyway. A small heap's own
// cycles come many times a second, and a forced one there took the
// process's second core for 12-40 ms every interval: one of the pauses
// that queue a small run's uploads (report.MinMaxInFlight), and CPU the
// run did not need. A forced GC of a large heap costs
// seconds of CPU, so the interval stretches to keep the sampler under
// about 4% of the run; at most a few thousand samples are kept (the list
// is thinned, and the interval doubled, when it fills).
func StartMemSampler(start time.Time, interval time.Duration, uploads func() int64) *MemSampler {
	m := &MemSampler{split: newHeapSplitter(), start: start, uploads: uploads, done: make(chan struct{})}
	runtime.GC()
	cycles := gcCycles()
	m.sample()
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		t := time.NewTimer(interval)
		defer t.Stop()
		for {
			select {
			case <-m.done:
				return
			case <-t.C:
				began := time.Now()
				if c := gcCycles(); c < cycles+2 {
					runtime.GC()
				}
				cycles = gcCycles()
				m.sample()
				if m.len() >= maxMemSamples {
					m.thin()
					interval *= 2
				}
				t.Reset(max(interval, 25*time.Since(began)))
			}
		}
	}()
	return m
}

const maxMemSamples = 2048

// gcCycles is how many GC cycles the process has completed.
func gcCycles() uint64 {
	s := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}

func (m *MemSampler) sample() {
	harness, fakes := m.split.split()
	s := MemSample{At: time.Since(m.start), Uploads: m.uploads(), RSS: residentBytes(), HeapHarness: harness, HeapFakes: fakes}
	m.mu.Lock()
	m.samples = append(m.samples, s)
	m.mu.Unlock()
}

func (m *MemSampler) len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.samples)
}

// thin keeps every other sample (the first always stays).
func (m *MemSampler) thin() {
	m.mu.Lock()
	defer m.mu.Unlock()
	kept := m.samples[:0]
	for i, s := range m.samples {
		if i%2 == 0 {
			kept = append(kept, s)
		}
	}
	m.samples = kept
}

// stop ends sampling after one last sample (after a full GC, as every
// sample); it returns the samples. Stop is idempotent.
func (m *MemSampler) Stop() []MemSample {
	select {
	case <-m.done:
	default:
		close(m.done)
		m.wg.Wait()
		runtime.GC()
		m.sample()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]MemSample(nil), m.samples...)
}
