package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/stormsim/stormsim/model"
	"github.com/stormsim/stormsim/report"
	"github.com/stormsim/stormsim/scenarios"
	"github.com/stormsim/stormsim/sim"
	"github.com/stormsim/stormsim/sim/regions"
)

type planOptions struct {
	out      string
	seed     string
	profile  string
	prices   string
	cpuProf  string
	quiet    bool
	validate bool
	json     bool
	// generator pods: a measured run's results.json and the pod size
	genCost string
	podCPU  float64
	podMem  string
}

// planCmd is `simrun plan SCENARIO`: the capacity-planning model in
// virtual time, written as a run's results.json, report and charts
// (mode "model").
func planCmd(args []string) error {
	var o planOptions
	fs := flag.NewFlagSet("simrun plan", flag.ContinueOnError)
	fs.StringVar(&o.out, "out", "", "output folder (default runs/SCENARIO-plan-TIME)")
	fs.StringVar(&o.seed, "seed", "", "root seed (default: the scenario's)")
	fs.StringVar(&o.profile, "profile", "", "profile name (profiles/NAME.yaml) or file (default: the scenario's plan.profile, else embedded)")
	fs.StringVar(&o.prices, "prices", "", "price table overriding the built-in one (YAML, see report/prices.yaml)")
	fs.StringVar(&o.cpuProf, "cpuprofile", "", "write a CPU profile of the plan to this file")
	fs.BoolVar(&o.quiet, "quiet", false, "no summary, only errors")
	fs.BoolVar(&o.validate, "validate", false, "calibrate the embedded fakes, plan with that profile and run the real harness on the scenario; print model and measurement side by side (into --out/model and --out/measured)")
	fs.BoolVar(&o.json, "json", false, "print results.json on stdout instead of the summary")
	fs.StringVar(&o.genCost, "generator-cost", "", "results.json of a measured run: size the generator pods the plan's load needs from its CPU-seconds per upload and RSS per upload in flight")
	fs.Float64Var(&o.podCPU, "pod-cpu", 2, "generator pod size: cores (with --generator-cost)")
	fs.StringVar(&o.podMem, "pod-mem", "4GiB", "generator pod size: memory (with --generator-cost)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: simrun plan [flags] SCENARIO.yaml\n\nflags:")
		fs.PrintDefaults()
	}
	if help, err := parseScenarioArgs(fs, args); help || err != nil {
		return err
	}
	sc, path, err := loadScenario(fs.Arg(0))
	if err != nil {
		return usageError{err}
	}
	seed, err := seedOf(o.seed, sc.Seed)
	if err != nil {
		return err
	}
	if err := planFlags(fs, o); err != nil {
		return err
	}
	prof, err := loadPlanProfile(o.profile, sc)
	if err != nil {
		return usageError{err}
	}
	// Refused before the output folder is made.
	if err := model.Check(sc, prof); err != nil {
		return usageError{err}
	}
	prices, err := report.LoadPrices(o.prices)
	if err != nil {
		return usagef("--prices: %w", err)
	}
	dir := defaultOut(o.out, sc.Name+"-plan")
	if err := writable(dir); err != nil {
		return usageError{err}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rerun := fmt.Sprintf("simrun plan --seed %d --profile %s %s", seed, prof.Name, path)
	// The model's state is a few large pointer-free slabs: collecting
	// less often costs little memory and saves the loop from stopping.
	debug.SetGCPercent(400)
	if o.validate {
		return validatePlan(ctx, sc, seed, path, dir, prices)
	}
	var gen *generatorInput
	if o.genCost != "" {
		if gen, err = loadGeneratorInput(o.genCost, o.podCPU, o.podMem); err != nil {
			return usageError{err}
		}
	}
	stopProfile, err := startProfiles(o.cpuProf)
	if err != nil {
		return usageError{err}
	}
	r, err := plan(ctx, sc, seed, prof, rerun, prices)
	stopProfile()
	if errors.Is(err, model.ErrNotModelled) || errors.Is(err, model.ErrProfile) {
		return usageError{err}
	}
	if err != nil {
		return err
	}
	if gen != nil {
		if err := gen.size(r); err != nil {
			return usageError{err}
		}
	}
	if err := report.WriteAll(dir, r, nil); err != nil {
		return err
	}
	printResults(runOptions{quiet: o.quiet, json: o.json}, r, rerun, dir)
	return exitError{verdictCode(r.Verdict)}
}

// planFlags refuses flags that would be ignored: the pod size without
// --generator-cost, and with --validate what only a plain plan uses.
func planFlags(fs *flag.FlagSet, o planOptions) error {
	var err error
	fs.Visit(func(f *flag.Flag) {
		switch {
		case err != nil:
		case (f.Name == "pod-cpu" || f.Name == "pod-mem") && o.genCost == "":
			err = usagef("--%s needs --generator-cost (it sizes the generator pods)", f.Name)
		case o.validate && f.Name == "profile":
			err = usagef("--profile does not apply with --validate: it calibrates the embedded fakes now and plans with that")
		case o.validate && (f.Name == "generator-cost" || f.Name == "cpuprofile" || f.Name == "json"):
			err = usagef("--%s does not apply with --validate", f.Name)
		}
	})
	return err
}

// loadPlanProfile loads --profile, else the scenario's plan.profile, else
// the embedded profile.
func loadPlanProfile(flagValue string, sc *scenarios.Scenario) (*model.Profile, error) {
	name := flagValue
	if name == "" && sc.Plan != nil {
		name = sc.Plan.Profile
	}
	if name == "" {
		name = "embedded"
	}
	return model.LoadProfile(name)
}

// plan records the coordinator's calls, runs the model and builds the
// results.
func plan(ctx context.Context, sc *scenarios.Scenario, seed uint64, prof *model.Profile, rerun string, prices *report.Prices) (*report.Results, error) {
	calls, err := model.RecordEmbedded(ctx)
	if err != nil {
		return nil, err
	}
	res, err := model.Run(ctx, model.Options{Scenario: sc, Seed: seed, Profile: prof, Calls: calls, Started: time.Now()})
	if err != nil {
		return nil, err
	}
	opts := []report.BuildOption{report.WithPrices(prices), report.Modelled(modelInfo(res))}
	if g := res.Regions; g != nil {
		// A plan refuses regional outages: nothing is refused.
		opts = append(opts, report.WithRegions(report.RegionsFigures(g.Measures, 0, g.Duplicated), g.Invocations, g.HandlerSeconds))
	}
	return report.Build(res.Run, sc, rerun, opts...), nil
}

func modelInfo(res *model.Result) *report.Model {
	p, in := res.Profile, res.Info
	m := &report.Model{Profile: p.Name, ProfileDate: p.Date, ProfileSource: p.Source, Handler: p.Handler.Kind,
		ConcurrencyLimit: in.Limit, MaxConcurrency: in.MaxConcurrency, Invocations: in.Invocations,
		ColdStarts: in.ColdStarts, Throttles: in.Throttles, RedisUtilization: in.RedisUtilization,
		RedisWaitMeanSeconds: in.RedisWaitMean, LockBusy: in.LockBusy, Events: in.Events, Notes: in.Notes}
	if m.Notes == nil {
		m.Notes = []string{}
	}
	for i, s := range res.Pool {
		m.Series = append(m.Series, report.ModelSample{Second: float64(i), Concurrency: s.Concurrency,
			Environments: s.Envs, Throttles: s.Throttles, ColdStarts: s.ColdStarts, Waiting: s.Waiting})
	}
	return m
}

// validatePlan is `simrun plan --validate`: the model calibrated on this
// machine against the real harness, same scenario and seed.
func validatePlan(ctx context.Context, sc *scenarios.Scenario, seed uint64, path, dir string, prices *report.Prices) error {
	fmt.Fprintf(os.Stderr, "stormsim: validating the plan of %s (seed %d) on %s\n", sc.Name, seed, machineLoad())
	b, err := model.NewEmbedded()
	if err != nil {
		return err
	}
	prof, err := model.Calibrate(ctx, b, 200, time.Now())
	b.Close()
	if err != nil {
		return err
	}
	rerun := fmt.Sprintf("simrun plan --validate --seed %d %s", seed, path)
	planned, err := plan(ctx, sc, seed, prof, rerun, prices)
	if errors.Is(err, model.ErrNotModelled) || errors.Is(err, model.ErrProfile) {
		return usageError{err}
	}
	if err != nil {
		return err
	}
	if err := report.WriteAll(filepath.Join(dir, "model"), planned, nil); err != nil {
		return err
	}
	measured, interrupted, err := measureRun(ctx, sc, seed, filepath.Join(dir, "measured"), rerun, prices)
	if err != nil {
		return err
	}
	tols := report.PlanTolerances
	if sc.Regions != nil {
		tols = report.RegionsPlanTolerances(planned)
	}
	c := report.CheckPlan(planned, measured, tols)
	fmt.Printf("plan (profile calibrated now) vs measured run, %s seed %d, %s\n", sc.Name, seed, machineLoad())
	if err := report.WritePlanCheck(os.Stdout, c); err != nil {
		return err
	}
	fmt.Printf("output: %s/model and %s/measured\n", dir, dir)
	if interrupted {
		return exitError{exitInterrupted}
	}
	return exitError{verdictCode(c.Verdict)}
}

// measureRun runs the real harness on the scenario into dir: a multi-region
// scenario on the regions runner, any other on sim.
func measureRun(ctx context.Context, sc *scenarios.Scenario, seed uint64, dir, rerun string, prices *report.Prices) (*report.Results, bool, error) {
	if err := writable(dir); err != nil {
		return nil, false, usageError{err}
	}
	if sc.Regions != nil {
		res, err := regions.Run(ctx, regions.Options{Scenario: sc, Seed: seed, OutDir: dir, CheckTimeout: time.Minute})
		if err != nil {
			return nil, false, err
		}
		r := report.BuildRegions(res, sc, rerun, report.WithPrices(prices))
		if err := report.WriteAll(dir, r, nil); err != nil {
			return nil, false, err
		}
		return r, res.Interrupted || ctx.Err() != nil, nil
	}
	opt := sim.Options{Scenario: sc, Seed: seed, OutDir: dir, MaxInFlight: 20000,
		CheckTimeout: time.Minute, Registry: prometheus.NewRegistry()}
	res, r, err := runOnce(ctx, opt, rerun, prices, nil)
	if err != nil {
		return nil, false, err
	}
	return r, res.Interrupted, nil
}

// machineLoad names the machine's CPUs and load, so a validation says
// under what load it measured.
func machineLoad() string {
	load := "load average unknown"
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) >= 3 {
			load = "load average " + strings.Join(f[:3], " ")
		}
	}
	return fmt.Sprintf("%d CPUs, %s", runtime.NumCPU(), load)
}

// planPoint plans one sweep point into dir. A plan cannot judge gates on
// invariants (it checks no history): they are left out of each point, so
// a point passes or fails on what the model does judge, and the sweep's
// knee is the model's.
func planPoint(ctx context.Context, sc *scenarios.Scenario, seed uint64, prof *model.Profile, dir, rerun string, prices *report.Prices) (*report.Results, error) {
	pt := *sc
	pt.Gates, pt.ParsedGates = nil, nil
	for i, g := range sc.ParsedGates {
		if !strings.HasPrefix(g.Metric, "invariants.") {
			pt.Gates, pt.ParsedGates = append(pt.Gates, sc.Gates[i]), append(pt.ParsedGates, g)
		}
	}
	r, err := plan(ctx, &pt, seed, prof, rerun, prices)
	if err != nil {
		return nil, err
	}
	if err := report.WriteAll(dir, r, nil); err != nil {
		return nil, err
	}
	return r, nil
}

// generatorInput is --generator-cost with the pod size.
type generatorInput struct {
	cost model.GeneratorCost
	pod  model.Pod
}

// loadGeneratorInput reads a measured run's per-upload cost: its
// harness's CPU-seconds over its uploads, and its most RSS over its most
// uploads in flight. On the embedded fakes both include the fakes' and
// the coordinator's share, so the pods are an upper bound.
func loadGeneratorInput(path string, podCPU float64, podMem string) (*generatorInput, error) {
	mem, err := scenarios.ParseSize(podMem)
	if err != nil {
		return nil, fmt.Errorf("--pod-mem %q: %w", podMem, err)
	}
	if !(podCPU > 0) {
		return nil, fmt.Errorf("--pod-cpu %g: must be above 0", podCPU)
	}
	r, err := report.ReadResults(path)
	if err != nil {
		return nil, fmt.Errorf("--generator-cost: %w", err)
	}
	switch {
	case r.Mode == report.ModeModel:
		return nil, fmt.Errorf("--generator-cost %s: mode: model: a plan measured nothing, give a measured run's results.json", path)
	case r.Harness == nil || r.Harness.CPUSeconds <= 0 || r.Harness.MaxRSSBytes <= 0:
		return nil, fmt.Errorf("--generator-cost %s: harness.cpu_seconds and harness.max_rss_bytes: missing or 0", path)
	case r.Uploads.Total <= 0:
		return nil, fmt.Errorf("--generator-cost %s: uploads.total: %d, want a run that uploaded", path, r.Uploads.Total)
	case r.Throughput.MaxInFlight <= 0:
		return nil, fmt.Errorf("--generator-cost %s: throughput.max_in_flight: %d, want above 0", path, r.Throughput.MaxInFlight)
	}
	return &generatorInput{pod: model.Pod{CPU: podCPU, MemoryBytes: mem}, cost: model.GeneratorCost{
		CPUSecondsPerUpload: r.Harness.CPUSeconds / float64(r.Uploads.Total),
		BytesPerInFlight:    float64(r.Harness.MaxRSSBytes) / float64(r.Throughput.MaxInFlight),
		Source:              path}}, nil
}

// size writes into the plan how many generator pods its planned rate and
// its most uploads in flight need.
func (g *generatorInput) size(r *report.Results) error {
	p, err := model.PlanGenerators(g.cost, g.pod, r.Throughput.PlannedRate, r.Throughput.MaxInFlight)
	if err != nil {
		return err
	}
	r.Model.Generator = &report.Generator{Source: p.Cost.Source, CPUSecondsPerUpload: p.Cost.CPUSecondsPerUpload,
		BytesPerInFlight: p.Cost.BytesPerInFlight, PodCPU: p.Pod.CPU, PodMemoryBytes: p.Pod.MemoryBytes,
		BusyShare: model.GeneratorBusyShare, Rate: p.Rate, MaxInFlight: p.MaxInFlight,
		PodsForCPU: p.ForCPU, PodsForMemory: p.ForMemory, Pods: p.Pods}
	return nil
}
