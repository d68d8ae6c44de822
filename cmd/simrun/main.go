// Command simrun runs stormsim scenarios against the upload coordinator and
// turns each run into a verdict.
//
//	simrun [flags] SCENARIO.yaml     run a scenario (see simrun -h)
//	simrun validate FILE...          check scenario files without running them
//	simrun check RUN_DIR             re-check a saved run's history
//	simrun report RUN_DIR [RUN_DIR]  re-render a run, or compare two
//	simrun selftest                  prove the gates catch broken coordinators
//	simrun bench SCENARIO.yaml       operation ceilings and the run's efficiency
//	simrun sweep SCENARIO.yaml --param PATH=FROM..TO[xSTEPS]   capacity sweep
//	simrun plan SCENARIO.yaml        capacity plan: the model in virtual time
//	simrun calibrate --out FILE      measure the calls a plan's profile needs
//	simrun serve [flags]             the embedded stack as a local service
//	simrun coordinator [flags]       a coordinator process on a shared event stream
//
// Exit codes: 0 pass, 1 a gate or invariant failed, 2 bad usage or invalid
// scenario, 3 inconclusive, 130 interrupted.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
)

// Exit codes (docs/contract.md, "Files and exit codes").
const (
	exitPass         = 0
	exitFail         = 1
	exitUsage        = 2
	exitInconclusive = 3
	exitInterrupted  = 130
)

// usageError is bad usage or invalid input: exit code 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// parseFlags parses args into fs. help reports -h or --help (the usage is
// printed, nothing more to do); a bad flag is a usage error (exit 2).
func parseFlags(fs *flag.FlagSet, args []string) (help bool, err error) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return true, nil
		}
		return false, usageError{err}
	}
	return false, nil
}

// parseScenarioArgs parses args into fs, flags before or after the
// operand, and wants exactly one scenario file (fs.Arg(0)).
func parseScenarioArgs(fs *flag.FlagSet, args []string) (help bool, err error) {
	if help, err := parseFlags(fs, interleave(fs, args)); help || err != nil {
		return help, err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return false, usagef("want exactly one scenario file, got %d", fs.NArg())
	}
	return false, nil
}

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

// exitError carries an exit code chosen by a subcommand.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

func main() {
	// The heap profile's sampling stays at the runtime's default (one
	// sample per 512 KiB allocated), which the live heap's split between
	// the harness and the fakes reads (sim/measure). Sampling every 64 KiB
	// cost 6% of a run's CPU: each sample records its stack, and the AWS
	// SDK's middleware stacks are deep.
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	var err error
	cmd := ""
	if len(args) > 0 {
		cmd = args[0]
	}
	switch cmd {
	case "validate":
		err = validateCmd(args[1:])
	case "check":
		err = checkCmd(args[1:])
	case "report":
		err = reportCmd(args[1:])
	case "sweep":
		err = sweepCmd(args[1:])
	case "plan":
		err = planCmd(args[1:])
	case "calibrate":
		err = calibrateCmd(args[1:])
	case "selftest":
		err = selftestCmd(args[1:])
	case "bench":
		err = benchCmd(args[1:])
	case "serve":
		err = serveCmd(args[1:])
	case "coordinator":
		err = coordinatorCmd(args[1:])
	case "run":
		err = runCmd(args[1:])
	default:
		err = runCmd(args)
	}
	return exitCode(err)
}

// exitCode maps errors to exit codes, in one place.
func exitCode(err error) int {
	var ee exitError
	var ue usageError
	switch {
	case err == nil:
		return exitPass
	case errors.As(err, &ee):
		return ee.code
	case errors.As(err, &ue):
		fmt.Fprintln(os.Stderr, "simrun:", err)
		return exitUsage
	default:
		fmt.Fprintln(os.Stderr, "simrun:", err)
		return exitInconclusive
	}
}
