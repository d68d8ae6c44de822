// Package model is the capacity-planning model of the upload pipeline: a
// discrete-event simulation in virtual time, driven by the same scenario
// file and the same seeded planned workload (sim/workload) as a real run,
// and producing the same sim.Result, so report.Build writes the same
// results.json, report and charts (marked "mode": "model").
//
// Where each question is answered:
//
//	events.go    the virtual clock and the event queue
//	calls.go     the coordinator's call sequence per outcome, recorded by
//	             running the real coordinator against in-process fakes
//	handlers.go  the handler pool: a fixed worker queue (the harness) or
//	             Lambda (concurrency limits, scaling rate, cold starts,
//	             throttles, retries)
//	redis.go     Redis as a server with finite throughput, N shards by key
//	locks.go     per-file lock contention and the decision (base == head)
//	devices.go   staging time, push and the poll schedule
//	profile.go   latency and limit figures (profiles/*.yaml)
//	run.go       the event loop and what it measures
//
// Nothing here is measured: every figure comes from a profile, and a
// plan is trusted only within the tolerances its validation against a
// real run states (README, "Capacity planning").
package model
