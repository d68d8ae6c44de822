// Package schedsim runs the coordinator's event scheduler (package
// coordinator/scheduler) against a fake timer service and measures its
// drift: how late events run, and that none runs early, is lost or runs
// twice (invariant 9 of docs/design.md).
//
// Three pieces:
//
//   - Virtual, a discrete-event clock: a heap of timers, so a week with a
//     million events simulates in seconds. Wall is the real clock, for runs
//     beside an upload workload (scale Config.Resolution down for a short
//     one).
//   - Rule, the fake timer service: a minute-resolution rule that fires
//     inside its target minute at a jittered offset, sometimes twice, applies
//     updates after a delay and throttles them above a rate; it also offers
//     rate schedules (the polling peer) and one-shot schedules (the
//     EventBridge Scheduler peer).
//   - Run, which generates one workload from Config.Seed and runs the main
//     strategy and its peers on it, each in its own world, returning a
//     Result and streaming one history.Sched per event of the main strategy.
//
// Handler time and store latency are virtual time spent inside an
// invocation: the handler's clock reads the invocation's start plus the time
// spent so far, and inserts planned meanwhile are made between its store
// calls, so the insert/handler race is exercised in virtual time too.
package schedsim
