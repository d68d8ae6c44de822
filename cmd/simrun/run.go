package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/stormsim/stormsim/internal/s3out"
	"github.com/stormsim/stormsim/report"
	"github.com/stormsim/stormsim/scenarios"
	"github.com/stormsim/stormsim/sim"
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
	fs.StringVar(&o.out, "out", "", "output folder (default runs/SCENARIO-TIME), or s3://BUCKET/PREFIX (written locally; history.jsonl streamed to it as it grows, the rest uploaded when the run ends; see --out-endpoint)")
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
	if help, err := parseScenarioArgs(fs, args); help || err != nil {
		return err
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

// runOnce runs one upload scenario into opt.OutDir and writes its run
// folder; a run that ended with an error but with results is
// inconclusive. ran, when set, is called as soon as the load has run
// (before the report is built: it stops the CPU profile).
func runOnce(ctx context.Context, opt sim.Options, rerun string, prices *report.Prices, ran func()) (*sim.Result, *report.Results, error) {
	res, err := sim.Run(ctx, opt)
	if ran != nil {
		ran()
	}
	if err != nil && res == nil {
		return nil, nil, err
	}
	r := report.Build(res, opt.Scenario, rerun, report.WithPrices(prices))
	if err != nil {
		r.Verdict = report.Inconclusive
		r.Reasons = append(r.Reasons, err.Error())
	}
	if err := report.WriteAll(opt.OutDir, r, res.Gatherer); err != nil {
		return nil, nil, err
	}
	return res, r, nil
}
