package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/term"

	"github.com/stormsim/stormsim/coordinator"
	"github.com/stormsim/stormsim/internal/syncx"
	"github.com/stormsim/stormsim/sim"
)

// Watching a run: progress lines, profiles and the /metrics endpoint.

// progressPrinter draws a bar on a terminal, plain lines otherwise.
func progressPrinter(w io.Writer) func(sim.Progress) {
	tty := false
	if f, ok := w.(*os.File); ok {
		tty = term.IsTerminal(int(f.Fd()))
	}
	last := time.Time{}
	return func(p sim.Progress) {
		frac := 0.0
		if p.Planned > 0 {
			frac = float64(p.Done) / float64(p.Planned)
		}
		line := fmt.Sprintf("%6.1fs  done %d/%d  in flight %d  committed %d  conflict %d  errors %d  events pending %d",
			p.Elapsed.Seconds(), p.Done, p.Planned, p.InFlight, p.Committed, p.Conflict, p.Errors, p.Pending)
		if tty {
			n := int(frac * 30)
			fmt.Fprintf(w, "\r[%s%s] %s\x1b[K", strings.Repeat("#", min(n, 30)), strings.Repeat(".", 30-min(n, 30)), line)
			return
		}
		if time.Since(last) >= 5*time.Second {
			fmt.Fprintln(w, line)
			last = time.Now()
		}
	}
}

// startProfiles starts CPU profiling; the returned func stops it.
func startProfiles(cpu string) (func(), error) {
	if cpu == "" {
		return func() {}, nil
	}
	cf, err := os.Create(cpu)
	if err != nil {
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(cf); err != nil {
		cf.Close()
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		cf.Close()
	}, nil
}

// writeHeapProfile writes the live heap (after a full GC) to f.
func writeHeapProfile(f *os.File) {
	runtime.GC()
	if err := pprof.WriteHeapProfile(f); err != nil {
		fmt.Fprintf(os.Stderr, "--memprofile: %v\n", err)
	}
}

// serveMetrics serves reg at /metrics on addr (loopback unless named).
func serveMetrics(addr string, reg *prometheus.Registry) (func(), error) {
	ln, err := coordinator.Listen(addr)
	if err != nil {
		return nil, fmt.Errorf("--metrics-addr: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	srv := syncx.Serve(coordinator.NewServer(mux), ln)
	fmt.Fprintf(os.Stderr, "metrics: http://%s/metrics\n", ln.Addr())
	return func() {
		if err := srv.Close(); err != nil {
			fmt.Fprintf(os.Stderr, "--metrics-addr: %v\n", err)
		}
	}, nil
}
