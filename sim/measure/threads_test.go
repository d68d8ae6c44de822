package measure

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// writeTasks lays out a /proc/self/task-like folder: tid -> schedstat.
func writeTasks(t *testing.T, tasks map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for tid, stat := range tasks {
		if err := os.MkdirAll(filepath.Join(dir, tid), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, tid, "schedstat"), []byte(stat), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestThreadTimes_WaitSince: the wait is summed over threads as a delta;
// a thread started since counts whole, one that exited is dropped, a
// malformed or missing schedstat is skipped, and a kernel without
// schedstats (every run time zero) is unknown, not "no wait".
func TestThreadTimes_WaitSince(t *testing.T) {
	before := readThreadTimesAt(writeTasks(t, map[string]string{
		"100": "1000000000 200000000 10\n", "101": "500000000 100000000 5\n", "102": "9 9 9\n", "nota": "1 1 1\n"}))
	if len(before) != 3 {
		t.Fatalf("before %v, want 3 threads", before)
	}
	after := readThreadTimesAt(writeTasks(t, map[string]string{
		"100": "3000000000 1200000000 30\n", // +1 s wait
		"101": "500000000 100000000 5\n",    // idle: +0
		"103": "400000000 300000000 3\n",    // new: 0.3 s whole
		"104": "garbage\n",
	}))
	tests := []struct {
		name        string
		now, before threadTimes
		wait        time.Duration
		ok          bool
	}{
		{"delta over threads", after, before, 1300 * time.Millisecond, true},
		{"no reading before", after, nil, 0, false},
		{"no reading after", nil, before, 0, false},
		{"no schedstats", threadTimes{1: {}, 2: {}}, threadTimes{1: {}, 2: {}}, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wait, ok := tt.now.waitSince(tt.before)
			if wait != tt.wait || ok != tt.ok {
				t.Errorf("waitSince = %v, %v; want %v, %v", wait, ok, tt.wait, tt.ok)
			}
		})
	}
	if got := readThreadTimesAt(filepath.Join(t.TempDir(), "absent")); got != nil {
		t.Errorf("absent folder: %v, want nil", got)
	}
}

// TestThreadTimes_Live: on Linux with schedstats, this process's threads
// are read and their run time grows as the test works (the kernel
// updates it on its ticks; the loop works until it does, up to a minute).
func TestThreadTimes_Live(t *testing.T) {
	before := readThreadTimes()
	if before == nil {
		t.Skip("no /proc/self/task/*/schedstat here")
	}
	for give := time.Now().Add(time.Minute); time.Now().Before(give); {
		if _, ok := readThreadTimes().waitSince(before); ok {
			return
		}
	}
	t.Error("this process's threads ran for a minute and schedstat shows no run time")
}
