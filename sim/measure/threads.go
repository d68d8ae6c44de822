package measure

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// threadTimes are this process's threads' CPU time and run-queue wait as
// Linux accounts them (/proc/self/task/TID/schedstat: nanoseconds on a
// CPU, nanoseconds runnable but waiting for one, timeslices), by thread.
//
// The run-queue wait is what tells a starved process from an idle one: a
// process that other processes crowd out has threads that are ready to
// run and wait, a process whose work waits on something else (a sleep, a
// lock, a slow server) has threads that sleep, and neither the Go
// scheduler's latency nor the process's CPU time sees the difference
// (the Go scheduler counts a P whose thread the kernel has set aside as
// running).
type threadTimes map[int]threadTime

type threadTime struct{ run, wait time.Duration }

// readThreadTimes reads every thread's schedstat; nil when the kernel has
// none (not Linux, or built without schedstats).
func readThreadTimes() threadTimes {
	return readThreadTimesAt("/proc/self/task")
}

func readThreadTimesAt(dir string) threadTimes {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	t := threadTimes{}
	for _, e := range entries {
		tid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name(), "schedstat"))
		if err != nil {
			continue // the thread has exited since ReadDir
		}
		f := strings.Fields(string(b))
		if len(f) < 2 {
			continue
		}
		run, err1 := strconv.ParseInt(f[0], 10, 64)
		wait, err2 := strconv.ParseInt(f[1], 10, 64)
		if err1 != nil || err2 != nil {
			continue
		}
		t[tid] = threadTime{run: time.Duration(run), wait: time.Duration(wait)}
	}
	if len(t) == 0 {
		return nil
	}
	return t
}

// waitSince is the run-queue wait the threads accrued since before: a
// thread that started since counts whole, one that exited is lost (the
// figure can only be low). ok is false when either reading is missing
// or the kernel keeps no schedstats (every thread at zero run time).
func (t threadTimes) waitSince(before threadTimes) (wait time.Duration, ok bool) {
	if t == nil || before == nil {
		return 0, false
	}
	var run time.Duration
	for tid, now := range t {
		was := before[tid]
		run += max(now.run-was.run, 0)
		wait += max(now.wait-was.wait, 0)
	}
	return wait, run > 0
}
