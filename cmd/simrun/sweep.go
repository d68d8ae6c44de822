package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/term"

	"github.com/stormsim/stormsim/model"
	"github.com/stormsim/stormsim/report"
	"github.com/stormsim/stormsim/scenarios"
	"github.com/stormsim/stormsim/sim"
)

type sweepOptions struct {
	out          string
	seed         string
	param        string
	prices       string
	demand       string
	quiet        bool
	checkTimeout time.Duration
	maxInFlight  int
	repeat       int
	model        bool
	profile      string
}

// sweepCmd runs one scenario per value of a parameter and writes
// sweep.json, plots and sweep.html. Exit 0 when every point ran (the knee
// is information, not a verdict), 2 bad usage, 3 a point could not run,
// 130 interrupted.
func sweepCmd(args []string) error {
	fs := flag.NewFlagSet("simrun sweep", flag.ContinueOnError)
	var o sweepOptions
	fs.StringVar(&o.param, "param", "", "PATH=FROM..TO[xSTEPS]: the scenario value to sweep and its range (default 5 points)")
	fs.StringVar(&o.out, "out", "", "output folder (default runs/sweep-SCENARIO-TIME)")
	fs.StringVar(&o.seed, "seed", "", "root seed of every point (default: the scenario's)")
	fs.StringVar(&o.prices, "prices", "", "price table overriding the built-in one (YAML, see report/prices.yaml)")
	fs.StringVar(&o.demand, "demand", "auto", "up: larger values are harder, down: smaller values are harder, auto: by PATH")
	fs.BoolVar(&o.quiet, "quiet", false, "no progress or summary, only errors")
	fs.DurationVar(&o.checkTimeout, "check-timeout", 60*time.Second, "budget of each point's linearizability check")
	fs.IntVar(&o.maxInFlight, "max-inflight", 20000, "most uploads in flight at once")
	fs.IntVar(&o.repeat, "repeat", 1, "run each point N times with the same seed: medians, and each point's 95% confidence interval on the charts")
	fs.BoolVar(&o.model, "model", false, "plan each point with the model (simrun plan) instead of running the harness: virtual time, any rate")
	fs.StringVar(&o.profile, "profile", "", "with --model: profile name or file (default: the scenario's plan.profile, else embedded)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: simrun sweep [flags] SCENARIO.yaml --param PATH=FROM..TO[xSTEPS]\n\n"+
			"PATH is a dotted scenario path: rate (every constant and poisson phase), phases[i].rate,\n"+
			"phases[i].count, coordinator.concurrency, population.users, population.hot_share,\n"+
			"population.devices_per_user, or any other numeric field.\n\nflags:")
		fs.PrintDefaults()
	}
	if help, err := parseScenarioArgs(fs, args); help || err != nil {
		return err
	}
	if err := checkRepeat(fs, o.repeat); err != nil {
		return err
	}
	if o.model && o.repeat > 1 {
		return usagef("sweep: --model is virtual time (the same seed gives the same plan): --repeat does not apply")
	}
	if o.profile != "" && !o.model {
		return usagef("sweep: --profile needs --model (a measured sweep runs the harness, not a profile)")
	}
	if err := sweepFlags(fs, o); err != nil {
		return err
	}
	if o.param == "" {
		return usagef("sweep: --param is required, e.g. --param rate=100..800x8")
	}
	spec, err := scenarios.ParseParam(o.param)
	if err != nil {
		return usagef("--param %q: %w", o.param, err)
	}
	data, path, err := readScenario(fs.Arg(0))
	if err != nil {
		return usageError{err}
	}
	base, err := scenarios.Parse(path, data)
	if err != nil {
		return usageError{err}
	}
	if base.Regions != nil && !o.model {
		return usagef("sweep: %s has regions; a measured sweep runs single-region scenarios (plan it with --model)", path)
	}
	if len(base.Phases) == 0 && base.Model != "closed" {
		return usagef("sweep: %s has no upload phases; sweeps run upload scenarios", path)
	}
	seed, err := seedOf(o.seed, base.Seed)
	if err != nil {
		return err
	}
	demandRises, err := demandDirection(o.demand, spec.Path)
	if err != nil {
		return usageError{err}
	}
	prices, err := report.LoadPrices(o.prices)
	if err != nil {
		return usagef("--prices: %w", err)
	}
	points, err := spec.Expand(path, data, base)
	if err != nil {
		return usagef("--param %q: %w", o.param, err)
	}
	var prof *model.Profile
	if o.model {
		// Loaded and checked once, before any point: a bad profile or a
		// scenario the model cannot plan is bad input, not a point that
		// could not run.
		if prof, err = loadPlanProfile(o.profile, base); err != nil {
			return usageError{err}
		}
		for _, pt := range points {
			if err := model.Check(pt.Scenario, prof); err != nil {
				return usageError{fmt.Errorf("--param %s=%s: %w", spec.Path, scenarios.FormatValue(pt.Value), err)}
			}
		}
	}
	dir := defaultOut(o.out, "sweep-"+base.Name)
	if err := writable(dir); err != nil {
		return usageError{err}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return runSweep(ctx, o, sweepPlan{path: path, base: base, param: o.param, spec: spec, points: points, seed: seed,
		demandRises: demandRises, prices: prices, dir: dir, profile: prof})
}

type sweepPlan struct {
	path        string
	base        *scenarios.Scenario
	param       string // --param as given
	spec        scenarios.Param
	points      []scenarios.Point
	seed        uint64
	demandRises bool
	prices      *report.Prices
	dir         string
	profile     *model.Profile // with --model
}

func runSweep(ctx context.Context, o sweepOptions, p sweepPlan) error {
	priceFlag := ""
	if o.prices != "" {
		priceFlag = " --prices " + o.prices
	}
	if o.repeat > 1 {
		priceFlag += fmt.Sprintf(" --repeat %d", o.repeat)
	}
	sw := &report.Sweep{Scenario: p.base.Name, Param: p.spec.Path, Values: p.spec.Range, Seed: p.seed, Started: time.Now(),
		DemandRises: p.demandRises, Currency: p.prices.Currency, PricesAsOf: p.prices.AsOf,
		Rerun: fmt.Sprintf("simrun sweep --seed %d %s --param %s%s", p.seed, p.path, p.param, priceFlag)}
	if o.model {
		sw.Rerun += " --model"
		if o.profile != "" {
			sw.Rerun += " --profile " + o.profile
		}
	}
	if !o.quiet {
		fmt.Fprintf(os.Stderr, "stormsim sweep: %s, %s over %d point(s), seed %d, output %s\n",
			p.base.Name, p.spec.Path, len(p.points), p.seed, p.dir)
	}
	tty := term.IsTerminal(int(os.Stderr.Fd()))
	failed := 0
	for i, pt := range p.points {
		if ctx.Err() != nil {
			sw.Interrupted = true
			break
		}
		rel := fmt.Sprintf("point-%02d", i)
		pdir := filepath.Join(p.dir, rel)
		value := scenarios.FormatValue(pt.Value)
		if !o.quiet {
			fmt.Fprintf(os.Stderr, "point %d/%d: %s=%s\n", i+1, len(p.points), p.spec.Path, value)
		}
		rerun := fmt.Sprintf("simrun sweep --seed %d %s --param %s=%s%s", p.seed, p.path, p.spec.Path, value, priceFlag)
		opt := sim.Options{Scenario: pt.Scenario, Seed: p.seed, OutDir: pdir, MaxInFlight: o.maxInFlight,
			CheckTimeout: o.checkTimeout, Registry: prometheus.NewRegistry()}
		if !o.quiet {
			opt.Progress = progressPrinter(os.Stderr)
		}
		var r *report.Results
		var err error
		switch {
		case o.model:
			r, err = planPoint(ctx, pt.Scenario, p.seed, p.profile, pdir, rerun+" --model", p.prices)
		case o.repeat > 1:
			r, err = runRepeatedPoint(ctx, o, opt, rerun, p.prices)
		default:
			r, err = runPoint(ctx, opt, rerun, p.prices)
		}
		if !o.quiet && tty {
			fmt.Fprintln(os.Stderr)
		}
		if err != nil {
			failed++
			sw.Points = append(sw.Points, report.SweepPoint{Index: i, Value: pt.Value, Dir: rel, Verdict: report.Inconclusive,
				Reasons: []string{}, Error: err.Error()})
			fmt.Fprintf(os.Stderr, "point %d: %s=%s could not run: %v\n", i+1, p.spec.Path, value, err)
			continue
		}
		sp := report.NewSweepPoint(i, pt.Value, rel, r)
		sw.Points = append(sw.Points, sp)
		if !o.quiet {
			fmt.Fprintf(os.Stderr, "point %d: %s=%s %s  achieved %.1f/s of %.1f/s  p99 %.3fs  polls %.2f\n",
				i+1, p.spec.Path, value, strings.ToUpper(sp.Verdict), sp.AchievedRate, sp.OfferedRate, sp.LatencyP99, sp.PollsMean)
		}
		if r.Partial {
			sw.Interrupted = true
			break
		}
		runtime.GC() // the next point starts from a clean heap
	}
	if len(sw.Points) < len(p.points) {
		sw.Interrupted = true
	}
	sw.DurationSeconds = time.Since(sw.Started).Seconds()
	sw.Finish()
	if err := report.WriteSweep(p.dir, sw); err != nil {
		return err
	}
	if !o.quiet {
		_ = report.SweepSummary(os.Stdout, sw)
		fmt.Printf("output:  %s (sweep.json, sweep.html, plots/)\n", p.dir)
	}
	switch {
	case sw.Interrupted:
		return exitError{exitInterrupted}
	case failed > 0:
		return fmt.Errorf("sweep: %d of %d point(s) could not run", failed, len(p.points))
	}
	return nil
}

// sweepFlags refuses values out of range, and the harness's flags with
// --model (a plan runs no harness).
func sweepFlags(fs *flag.FlagSet, o sweepOptions) error {
	var err error
	fs.Visit(func(f *flag.Flag) {
		if o.model && err == nil && (f.Name == "max-inflight" || f.Name == "check-timeout") {
			err = usagef("sweep: --%s does not apply with --model (a plan runs no harness and checks no history)", f.Name)
		}
	})
	switch {
	case err != nil:
		return err
	case o.maxInFlight <= 0:
		return usagef("--max-inflight %d: must be > 0", o.maxInFlight)
	case o.checkTimeout <= 0:
		return usagef("--check-timeout %s: must be > 0", o.checkTimeout)
	}
	return nil
}

// runPoint runs one point into opt.OutDir and writes its run folder.
func runPoint(ctx context.Context, opt sim.Options, rerun string, prices *report.Prices) (*report.Results, error) {
	if err := os.MkdirAll(opt.OutDir, 0o755); err != nil {
		return nil, fmt.Errorf("point folder: %w", err)
	}
	res, err := sim.Run(ctx, opt)
	if err != nil && res == nil {
		return nil, err
	}
	r := report.Build(res, opt.Scenario, rerun, report.WithPrices(prices))
	if err != nil {
		r.Verdict = report.Inconclusive
		r.Reasons = append(r.Reasons, err.Error())
	}
	if err := report.WriteAll(opt.OutDir, r, res.Gatherer); err != nil {
		return nil, err
	}
	return r, nil
}

// readScenario returns a scenario file's bytes, or a built-in's by name.
func readScenario(arg string) ([]byte, string, error) {
	if _, err := os.Stat(arg); err != nil {
		name := strings.TrimSuffix(filepath.Base(arg), ".yaml")
		if data, ok := scenarios.Builtin(name); ok {
			return data, "scenarios/" + name + ".yaml", nil
		}
	}
	data, err := os.ReadFile(arg)
	if err != nil {
		return nil, "", fmt.Errorf("load scenario: %w", err)
	}
	if len(data) > scenarios.MaxFileSize {
		return nil, "", fmt.Errorf("load scenario %s: larger than %d bytes", arg, scenarios.MaxFileSize)
	}
	return data, arg, nil
}

// demandDirection reads --demand: whether raising the parameter at path
// raises the demand (auto: scenarios.DemandRises says).
func demandDirection(flagValue, path string) (bool, error) {
	switch flagValue {
	case "up":
		return true, nil
	case "down":
		return false, nil
	case "auto", "":
		return scenarios.DemandRises(path), nil
	}
	return false, usagef("--demand %q: want up, down or auto", flagValue)
}
