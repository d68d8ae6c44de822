// Package model is the capacity-planning model of the upload pipeline: a
// discrete-event simulation in virtual time, driven by the same scenario
// file and the same seeded planned workload (sim/workload) as a real run,
// and producing the same sim.Result, so report.Build writes the same
// results.json, report and charts (marked "mode": "model").
//
// Where each question is answered:
//
//	events.go     the virtual clock, the event queue (a radix heap), slabs
//	              of live state
//	calls.go      the coordinator's call sequence per outcome, recorded by
//	              running the real coordinator against in-process fakes
//	backends.go   those fakes (or real servers' clients)
//	callspec.go   recorded calls compiled for the event loop
//	handlers.go   the handler pool: a fixed worker queue (the harness) or
//	              Lambda (concurrency limits, scaling rate, cold starts,
//	              throttles)
//	redis.go      Redis as a server with finite throughput, N shards by key
//	locks.go      per-file lock contention, the decision, retries of a
//	              failed invocation, what a device learns
//	machine.go    uploads and invocations moving through the calls
//	devices.go    staging time, push and the poll schedule
//	measure.go    histograms of what devices saw (no per-upload history)
//	profile.go    latency and limit figures (profiles/*.yaml)
//	cpu.go        the one machine an embedded setup runs on: its cores as a
//	              server every call books CPU time on, late timers
//	calibrate.go  measuring a profile on real or embedded backends
//	              (cpu_calibrate.go: the machine's share, timers, push path)
//	generator.go  how many generator pods a plan's load needs, from a
//	              measured run's cost per upload
//	regions.go    a regions scenario: each region its own pool and Redis,
//	              devices reading their region and staging at home across
//	              the latency matrix (placement from sim/regions)
//	replicate.go  the replicator: its queue, HEAD, GET, conditional PUT,
//	              notifications
//	regionsmeasure.go  the regions figures sim/regions measures, from
//	              histograms
//	run.go        the event loop and its result
//
// Nothing a plan reports is measured: every figure comes from a profile
// (calibrate.go measures one), and a plan is trusted only within the
// tolerances its validation against a real run states (README,
// "Capacity planning").
package model
