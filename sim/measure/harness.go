package measure

import (
	"runtime"
	"syscall"
	"time"
)

// HarnessUse is the harness process's own resource use.
type HarnessUse struct {
	CPUSeconds  float64
	Utilization float64 // of all cores
	MaxRSS      int64
}

// procStart is when this process started measuring itself.
var procStart = time.Now()

// Harness is the process's resource use so far, over elapsed or the
// process's life, whichever is longer.
func Harness(elapsed time.Duration) HarnessUse {
	elapsed = max(elapsed, time.Since(procStart))
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return HarnessUse{}
	}
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	h := HarnessUse{CPUSeconds: cpu.Seconds(), MaxRSS: ru.Maxrss * 1024}
	if elapsed > 0 {
		h.Utilization = cpu.Seconds() / elapsed.Seconds() / float64(runtime.NumCPU())
	}
	return h
}
