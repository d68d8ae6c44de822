package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/term"

	"github.com/stormsim/stormsim/coordinator"
	"github.com/stormsim/stormsim/internal/s3out"
	"github.com/stormsim/stormsim/internal/syncx"
	"github.com/stormsim/stormsim/report"
	"github.com/stormsim/stormsim/scenarios"
	"github.com/stormsim/stormsim/sim"
	"github.com/stormsim/stormsim/sim/traffic"
	"github.com/stormsim/stormsim/sim/workload"
)

type runOptions struct {
	out          string
	seed         string
	shard        string
	quiet        bool
	json         bool
	checkTimeout time.Duration
	maxInFlight  int
	cpuProfile   string
	memProfile   string
	metricsAddr  string
	prices       string
	loadedPrices *report.Prices
	servers      serverOptions
	store        storeOptions
	startAt      string
	verdictExit  bool
	repeat       int
	mail         mailOptions
	mailServer   sim.MailServer
}

// newRunFlags is the flag set of a run, bound to o.
func newRunFlags(o *runOptions) *flag.FlagSet {
	fs := flag.NewFlagSet("simrun", flag.ContinueOnError)
	fs.StringVar(&o.out, "out", "", "output folder (default runs/SCENARIO-TIME), or s3://BUCKET/PREFIX (written locally, uploaded when the run ends; see --out-endpoint)")
	fs.StringVar(&o.seed, "seed", "", "root seed (default: the scenario's)")
	fs.StringVar(&o.shard, "shard", "", "I/N: drive only slice I (0-based) of N of the users; merge shards with simrun check DIR...; auto: I from $JOB_COMPLETION_INDEX, N from $STORMSIM_SHARDS (a Kubernetes Indexed Job)")
	fs.BoolVar(&o.verdictExit, "verdict-exit", true, "exit 1 or 3 on a failed or inconclusive verdict; false: exit 0 once the run is written, whatever its verdict (a shard whose verdict the merge gives, e.g. in a Kubernetes Job)")
	fs.StringVar(&o.startAt, "start-at", "", "RFC 3339 time: wait until then to start the load, so shards started apart begin their planned arrivals together")
	fs.BoolVar(&o.quiet, "quiet", false, "no progress or summary, only errors")
	fs.BoolVar(&o.json, "json", false, "print results.json on stdout instead of the summary")
	fs.DurationVar(&o.checkTimeout, "check-timeout", 60*time.Second, "budget of the linearizability check")
	fs.IntVar(&o.maxInFlight, "max-inflight", 20000, "most uploads in flight at once")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the run to this file")
	fs.StringVar(&o.memProfile, "memprofile", "", "write a heap profile to this file when the drain ends (the fakes and connections still up)")
	fs.StringVar(&o.prices, "prices", "", "price table overriding the built-in one (YAML, see report/prices.yaml)")
	fs.IntVar(&o.repeat, "repeat", 1, "run the scenario N times with the same seed, each run in its own folder under --out, and report each metric's median and 95% confidence interval; gates judge the interval")
	fs.StringVar(&o.metricsAddr, "metrics-addr", "", "serve live Prometheus metrics at http://ADDR/metrics (loopback unless a host is named, e.g. :9090)")
	o.servers.register(fs)
	o.store.register(fs, &o.servers.imds)
	o.mail.register(fs)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: simrun [flags] SCENARIO.yaml\n       simrun validate|check|report|selftest|bench|sweep|serve|coordinator ...\n\nflags:")
		fs.PrintDefaults()
	}
	return fs
}

func runCmd(args []string) (err error) {
	var o runOptions
	fs := newRunFlags(&o)
	if help, err := parseFlags(fs, interleave(fs, args)); help || err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return usagef("want exactly one scenario file, got %d", fs.NArg())
	}
	if err := checkRepeat(fs, o.repeat); err != nil {
		return err
	}
	sc, path, err := loadScenario(fs.Arg(0))
	if err != nil {
		return usageError{err}
	}
	if sc.Regions != nil {
		if err := regionsFlags(o); err != nil {
			return err
		}
	}
	seed, err := seedOf(o.seed, sc.Seed)
	if err != nil {
		return err
	}
	prices, err := report.LoadPrices(o.prices)
	if err != nil {
		return usagef("--prices: %w", err)
	}
	o.loadedPrices = prices
	if o.mailServer, err = o.mail.server(sc); err != nil {
		return err
	}
	shard, err := parseShard(o.shard, os.Getenv)
	if err != nil {
		return usageError{err}
	}
	startAt, err := parseStartAt(o.startAt)
	if err != nil {
		return usageError{err}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	dir, shown := o.out, o.out
	if s3out.IsURL(o.out) {
		s3o, perr := prepareS3Out(ctx, o.out, &o.store, logTo(o))
		if perr != nil {
			return perr
		}
		dir = s3o.dir
		// err is the named result: the run's outcome, exit code included.
		defer func() { err = s3o.publish(ctx, err) }()
	}
	if dir == "" {
		dir = filepath.Join("runs", fmt.Sprintf("%s-%s", sc.Name, time.Now().Format("20060102-150405")))
		shown = dir
	}
	if err := writable(dir); err != nil {
		return usageError{err}
	}
	rerun := rerunLine(fs, seed, shard, path)
	if !o.quiet && !o.json {
		fmt.Fprintf(os.Stderr, "stormsim: %s, seed %d, output %s\n", sc.Name, seed, shown)
	}
	if sc.Regions != nil {
		return runRegions(ctx, o, sc, seed, dir, shown, rerun)
	}
	if o.repeat > 1 {
		return runRepeat(ctx, o, fs, sc, path, seed, dir)
	}
	if sc.Scheduler != nil && len(sc.Phases) == 0 {
		if !startAt.IsZero() {
			return usagef("--start-at: a scheduler-only scenario runs in virtual time; it has no start to share")
		}
		return runScheduler(ctx, o, sc, seed, dir, rerun)
	}
	reg := prometheus.NewRegistry()
	if o.metricsAddr != "" {
		stopMetrics, err := serveMetrics(o.metricsAddr, reg)
		if err != nil {
			return usageError{err}
		}
		defer stopMetrics()
	}
	opt := sim.Options{Scenario: sc, Seed: seed, OutDir: dir, MaxInFlight: o.maxInFlight, CheckTimeout: o.checkTimeout, Registry: reg,
		Shard: shard}
	if !o.quiet && !o.json {
		opt.Progress = progressPrinter(os.Stderr)
	}
	if o.servers.enabled() {
		log := io.Writer(os.Stderr)
		if o.quiet {
			log = io.Discard
		}
		closeServers, err := openServers(ctx, &o.servers, &opt, log, os.Stderr)
		if err != nil {
			return err
		}
		defer closeServers()
	}
	stopProfiles, err := startProfiles(o.cpuProfile)
	if err != nil {
		return usageError{err}
	}
	if o.memProfile != "" {
		mf, err := os.Create(o.memProfile)
		if err != nil {
			return usageError{fmt.Errorf("--memprofile: %w", err)}
		}
		defer mf.Close()
		// The heap as the load left it: the environment is still up.
		opt.Drained = func() { writeHeapProfile(mf) }
	}
	if err := waitStart(ctx, startAt, logTo(o)); err != nil {
		stopProfiles()
		return exitError{exitInterrupted}
	}
	res, r, err := runOnce(ctx, opt, rerun, prices, stopProfiles)
	if err != nil {
		return err
	}
	printResults(o, r, rerun, shown)
	if res.Interrupted {
		return exitError{exitInterrupted}
	}
	return o.verdictErr(r.Verdict)
}

// runScheduler runs a scheduler-only scenario (virtual time by default).
func runScheduler(ctx context.Context, o runOptions, sc *scenarios.Scenario, seed uint64, dir, rerun string) error {
	res, err := sim.RunSchedulerMail(ctx, sc, seed, dir, o.mailServer)
	if err != nil {
		return err
	}
	r := report.BuildScheduler(res, sc, seed, workload.Hash(sc, seed), rerun, report.WithPrices(o.loadedPrices))
	if err := report.WriteAll(dir, r, nil); err != nil {
		return err
	}
	printResults(o, r, rerun, dir)
	if ctx.Err() != nil {
		return exitError{exitInterrupted}
	}
	return o.verdictErr(r.Verdict)
}

// verdictErr is the exit of a finished run with verdict v (--verdict-exit).
func (o runOptions) verdictErr(v string) error {
	if !o.verdictExit {
		return nil
	}
	return exitError{verdictCode(v)}
}

func printResults(o runOptions, r *report.Results, rerun, dir string) {
	switch {
	case o.json:
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(r)
	case !o.quiet:
		_ = report.Summary(os.Stdout, r)
		fmt.Printf("workload %s\noutput:  %s\n", r.WorkloadHash, dir)
	}
}

func verdictCode(v string) int {
	switch v {
	case report.Pass:
		return exitPass
	case report.Fail:
		return exitFail
	}
	return exitInconclusive
}

// loadScenario loads a file, or a built-in scenario by name ("burst").
func loadScenario(arg string) (*scenarios.Scenario, string, error) {
	if _, err := os.Stat(arg); err != nil {
		name := strings.TrimSuffix(filepath.Base(arg), ".yaml")
		if data, ok := scenarios.Builtin(name); ok {
			sc, err := scenarios.Parse("scenarios/"+name+".yaml", data)
			return sc, "scenarios/" + name + ".yaml", err
		}
	}
	sc, err := scenarios.Load(arg)
	return sc, arg, err
}

// writable makes dir and proves a file can be written there, before any
// load starts.
func writable(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("output folder: %w", err)
	}
	f, err := os.CreateTemp(dir, ".probe-*")
	if err != nil {
		return fmt.Errorf("output folder %s is not writable: %w", dir, err)
	}
	f.Close()
	return os.Remove(f.Name())
}

// interleave moves flags after the positional arguments to the front, so
// "simrun burst.yaml --seed 7" works like "simrun --seed 7 burst.yaml". It
// asks fs which flags are booleans (they take no separate value).
func interleave(fs *flag.FlagSet, args []string) []string {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i+1:]...)
			break
		}
		if strings.HasPrefix(a, "-") && a != "-" {
			flags = append(flags, a)
			name := strings.TrimLeft(a, "-")
			if !strings.Contains(name, "=") && i+1 < len(args) && !isBoolFlag(fs, name) {
				flags = append(flags, args[i+1])
				i++
			}
			continue
		}
		pos = append(pos, a)
	}
	return append(flags, pos...)
}

func isBoolFlag(fs *flag.FlagSet, name string) bool {
	if name == "h" || name == "help" {
		return true
	}
	f := fs.Lookup(name)
	if f == nil {
		return false
	}
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

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

// outputOnlyFlags change where and how a run reports, not what it runs:
// the rerun line leaves them out.
var outputOnlyFlags = map[string]bool{"out": true, "quiet": true, "json": true, "cpuprofile": true,
	"memprofile": true, "metrics-addr": true, "out-endpoint": true, "start-at": true, "verdict-exit": true}

// rerunLine is the command that repeats the run: the resolved seed and
// shard, every other flag set on the command line that changes what is run
// (server flags included, credentials redacted), and the scenario. A flag
// added later is repeated unless listed in outputOnlyFlags.
// Flags named in skip are left out too (a repetition's own line drops
// --repeat).
func rerunLine(fs *flag.FlagSet, seed uint64, shard traffic.Shard, path string, skip ...string) string {
	args := []string{"simrun", "--seed", strconv.FormatUint(seed, 10)}
	if shard.N > 1 {
		args = append(args, "--shard", fmt.Sprintf("%d/%d", shard.I, shard.N))
	}
	fs.Visit(func(f *flag.Flag) { // in name order
		if outputOnlyFlags[f.Name] || f.Name == "seed" || f.Name == "shard" || slices.Contains(skip, f.Name) {
			return
		}
		v := f.Value.String()
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
			if v == "true" {
				args = append(args, "--"+f.Name)
			} else {
				args = append(args, shellQuote("--"+f.Name+"="+v))
			}
			return
		}
		if redact := redactedFlags[f.Name]; redact != nil {
			v = redact(v)
		}
		args = append(args, "--"+f.Name, shellQuote(v))
	})
	return strings.Join(append(args, shellQuote(path)), " ")
}

// shellQuote returns s as one POSIX shell word: unchanged when it holds
// only characters no shell treats specially, single-quoted otherwise.
func shellQuote(s string) string {
	if s == "" {
		return "''"
	}
	safe := true
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("@%+=:,./_-", r)) {
			safe = false
			break
		}
	}
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
