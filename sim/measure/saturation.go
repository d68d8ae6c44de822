package measure

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"net/http"
	"os"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/redis/go-redis/v9"
)

// Saturation is how far the harness itself fell behind during a run: the
// lag of its own clocks and queues, measured apart from the system under
// test, so that a report can tell a slow system from a starved harness.
// Every figure covers the load and the drain. Package report decides from
// these whether the run was harness-bound; sim only measures.
type Saturation struct {
	// LaunchLag is how late each planned arrival started its upload,
	// beyond any wait for an in-flight slot (a backlog of the system): the
	// generator's timer, goroutine start and content hashing.
	LaunchLag Quantiles `json:"launch_lag_seconds"`
	// TimerLateness is how late each device timer fired (first poll,
	// next poll) after the instant it was set for.
	TimerLateness Quantiles `json:"timer_lateness_seconds"`
	// Lag is LaunchLag and TimerLateness together: the harness's own lag.
	Lag Quantiles `json:"lag_seconds"`
	// SchedLatency is the Go runtime's scheduling latency over the run
	// (runtime/metrics /sched/latencies:seconds): how long runnable
	// goroutines waited for a CPU. It counts the whole process (devices,
	// fakes and the coordinator alike).
	SchedLatency Quantiles `json:"sched_latency_seconds"`
	// ProcessCPUShare is this process's CPU time over the run's wall time
	// and all cores (0..1); MachineCPUBusyShare the same for the whole
	// machine (/proc/stat; -1 when unknown), OtherCPUShare the difference:
	// what other processes took.
	ProcessCPUShare     float64 `json:"process_cpu_share"`
	MachineCPUBusyShare float64 `json:"machine_cpu_busy_share"`
	OtherCPUShare       float64 `json:"other_cpu_share"`
	CPUs                int     `json:"cpus"`
	// RunQueueWaitShare is how long this process's threads were ready to
	// run but waited for a CPU (Linux schedstat, summed over the threads),
	// over the run's wall time and all cores; -1 when unknown. Beside
	// ProcessCPUShare it is what the process asked of the machine and did
	// not get: a process crowded out by others waits, one whose work waits
	// on something else (a sleep, a lock, a slow server) sleeps instead.
	RunQueueWaitShare float64 `json:"run_queue_wait_share"`
	// RedisWait is each Redis command's (or pipeline's) round trip as the
	// clients saw it; on the embedded Redis every command runs under one
	// lock, so it is mostly the wait for that lock.
	RedisWait Quantiles `json:"redis_wait_seconds"`
	// S3Wait is each S3 request's time inside the embedded fake (body
	// transfer included); empty on real servers.
	S3Wait Quantiles `json:"s3_wait_seconds"`
	// EventQueueWait is each event's wait in the ready queue for a free
	// handler: the concurrency limit's backlog plus, on a starved machine,
	// the workers' scheduling delay. A slow system grows it too, so it is
	// reported, never taken alone as the harness's lag.
	EventQueueWait Quantiles `json:"event_queue_wait_seconds"`
	Placement
}

// Placement says which parts of the system under test ran in the
// harness's process.
type Placement struct {
	// Embedded is set when the fakes ran in this process.
	Embedded bool `json:"embedded"`
	// CoordinatorInProcess is set when the coordinator's handlers ran in
	// this process (not handed to --external coordinator processes, not a
	// deployed one behind a result API). With Embedded the whole system
	// under test ran here, and other processes' CPU was none of its.
	CoordinatorInProcess bool `json:"coordinator_in_process"`
}

// Quantiles summarise a distribution in seconds.
type Quantiles struct {
	Count int64   `json:"count"`
	P50   float64 `json:"p50"`
	P99   float64 `json:"p99"`
	Max   float64 `json:"max"`
}

func quantilesOf(h *hdrhistogram.Histogram) Quantiles {
	if h == nil || h.TotalCount() == 0 {
		return Quantiles{}
	}
	s := func(v int64) float64 { return float64(v) / 1e6 }
	return Quantiles{Count: h.TotalCount(), P50: s(h.ValueAtQuantile(50)), P99: s(h.ValueAtQuantile(99)), Max: s(h.Max())}
}

// Hist is an HDR histogram of microseconds under its own lock, so the
// hot recorders (Redis, S3) do not contend with each other.
type Hist struct {
	mu sync.Mutex
	h  *hdrhistogram.Histogram
}

func (s *Hist) Add(d time.Duration) {
	s.mu.Lock()
	_ = s.h.RecordValue(max(int64(d/time.Microsecond), 0))
	s.mu.Unlock()
}

func (s *Hist) snapshot() *hdrhistogram.Histogram {
	s.mu.Lock()
	defer s.mu.Unlock()
	return hdrhistogram.Import(s.h.Export())
}

// Meter collects the harness's lag during a run.
type Meter struct {
	Launch, Timer, Queue, redis, s3 Hist     // Launch, Timer and Queue are fed by the run
	sched                           []uint64 // /sched/latencies counts at the start
	cpu                             *CPUWatch
}

const schedLatencies = "/sched/latencies:seconds"

func NewMeter() *Meter {
	m := &Meter{}
	for _, h := range []*Hist{&m.Launch, &m.Timer, &m.redis, &m.s3, &m.Queue} {
		h.h = hdrhistogram.New(0, int64(time.Hour/time.Microsecond), 3)
	}
	return m
}

// Begin takes the starting points of the process-wide counters.
func (m *Meter) Begin(now time.Time) {
	if h := readSchedLatencies(); h != nil {
		m.sched = append([]uint64(nil), h.Counts...)
	}
	m.cpu = WatchCPU(now)
}

// End summarises the run up to now.
func (m *Meter) End(now time.Time, where Placement) Saturation {
	s := Saturation{Placement: where, CPUs: runtime.NumCPU(), MachineCPUBusyShare: -1, RunQueueWaitShare: -1}
	lag := m.Launch.snapshot()
	s.LaunchLag = quantilesOf(lag)
	t := m.Timer.snapshot()
	s.TimerLateness = quantilesOf(t)
	lag.Merge(t)
	s.Lag = quantilesOf(lag)
	s.RedisWait = quantilesOf(m.redis.snapshot())
	s.S3Wait = quantilesOf(m.s3.snapshot())
	s.EventQueueWait = quantilesOf(m.Queue.snapshot())
	if h := readSchedLatencies(); h != nil {
		s.SchedLatency = schedQuantiles(h, m.sched)
	}
	if m.cpu != nil {
		c := m.cpu.Shares(now)
		s.CPUs, s.ProcessCPUShare, s.MachineCPUBusyShare, s.OtherCPUShare, s.RunQueueWaitShare = c.CPUs, c.Process, c.Machine, c.Other, c.RunQueueWait
	}
	return s
}

func readSchedLatencies() *metrics.Float64Histogram {
	sample := []metrics.Sample{{Name: schedLatencies}}
	metrics.Read(sample)
	if sample[0].Value.Kind() != metrics.KindFloat64Histogram {
		return nil
	}
	return sample[0].Value.Float64Histogram()
}

// schedQuantiles is the distribution of h's counts since before (bucket
// upper bounds, so a quantile is at most one bucket high).
func schedQuantiles(h *metrics.Float64Histogram, before []uint64) Quantiles {
	counts := make([]uint64, len(h.Counts))
	var total uint64
	for i, c := range h.Counts {
		if i < len(before) {
			c -= min(before[i], c)
		}
		counts[i] = c
		total += c
	}
	if total == 0 {
		return Quantiles{}
	}
	upper := func(i int) float64 {
		b := h.Buckets[i+1]
		if math.IsInf(b, 1) {
			b = h.Buckets[i]
		}
		return b
	}
	at := func(q float64) float64 {
		rank := uint64(math.Ceil(q * float64(total)))
		var seen uint64
		for i, c := range counts {
			if seen += c; seen >= max(rank, 1) {
				return upper(i)
			}
		}
		return upper(len(counts) - 1)
	}
	return Quantiles{Count: int64(total), P50: at(0.5), P99: at(0.99), Max: at(1)}
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cpuTimes are the machine's CPU jiffies from /proc/stat: busy and total.
type cpuTimes struct{ busy, total uint64 }

func readCPUTimes() cpuTimes {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return cpuTimes{}
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	if !sc.Scan() {
		return cpuTimes{}
	}
	fields := strings.Fields(sc.Text())
	if len(fields) < 5 || fields[0] != "cpu" {
		return cpuTimes{}
	}
	var t cpuTimes
	for i, f := range fields[1:] {
		var v uint64
		if _, err := fmt.Sscan(f, &v); err != nil {
			return cpuTimes{}
		}
		if i >= 8 {
			break // guest time is already counted in user time
		}
		t.total += v
		if i != 3 && i != 4 { // idle, iowait
			t.busy += v
		}
	}
	return t
}

// busyShare is the machine's busy share between before and t.
func (t cpuTimes) busyShare(before cpuTimes) (float64, bool) {
	if before.total == 0 || t.total <= before.total {
		return 0, false
	}
	return float64(t.busy-before.busy) / float64(t.total-before.total), true
}

// redisTimer times Redis commands for the saturation figures.
type redisTimer struct{ h *Hist }

func (t redisTimer) DialHook(next redis.DialHook) redis.DialHook { return next }
func (t redisTimer) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		began := time.Now()
		err := next(ctx, cmd)
		t.h.Add(time.Since(began))
		return err
	}
}
func (t redisTimer) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		began := time.Now()
		err := next(ctx, cmds)
		t.h.Add(time.Since(began))
		return err
	}
}

// RedisHook times the commands of the Redis client it is added to (the
// embedded Redis's command times, for the saturation figures).
func (m *Meter) RedisHook() redis.Hook { return redisTimer{&m.redis} }

// TimeS3 times each request inside the embedded S3.
func (m *Meter) TimeS3(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		began := time.Now()
		h.ServeHTTP(w, req)
		m.s3.Add(time.Since(began))
	})
}
