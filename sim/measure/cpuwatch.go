package measure

import (
	"runtime"
	"time"
)

// CPUWatch measures who had the machine's CPU from Watch to Shares:
// this process, the whole machine, other processes, and how long this
// process's threads waited for a CPU.
type CPUWatch struct {
	start   time.Time
	cpu     time.Duration
	machine cpuTimes
	threads threadTimes
}

// CPUShares are shares of the watched wall time over all cores (0..1).
type CPUShares struct {
	// Process is this process's CPU time; Machine the whole machine's
	// busy time (/proc/stat; -1 when unknown); Other the difference, what
	// other processes took (0 when the machine's is unknown).
	Process, Machine, Other float64
	// RunQueueWait is how long this process's threads were ready to run
	// and waited for a CPU (threadTimes; -1 when unknown).
	RunQueueWait float64
	CPUs         int
}

// WatchCPU starts a watch at now.
func WatchCPU(now time.Time) *CPUWatch {
	return &CPUWatch{start: now, cpu: processCPU(), machine: readCPUTimes(), threads: readThreadTimes()}
}

// Shares are the shares from the watch's start to now; all zero (the
// unknown ones -1) when no time has passed.
func (w *CPUWatch) Shares(now time.Time) CPUShares {
	s := CPUShares{Machine: -1, RunQueueWait: -1, CPUs: runtime.NumCPU()}
	el := now.Sub(w.start)
	if el <= 0 || s.CPUs <= 0 {
		return s
	}
	cores := el.Seconds() * float64(s.CPUs)
	s.Process = (processCPU() - w.cpu).Seconds() / cores
	if busy, ok := readCPUTimes().busyShare(w.machine); ok {
		s.Machine = busy
		s.Other = max(busy-s.Process, 0)
	}
	if wait, ok := readThreadTimes().waitSince(w.threads); ok {
		s.RunQueueWait = wait.Seconds() / cores
	}
	return s
}
