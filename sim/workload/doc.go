// Package workload plans what the simulated devices do, deterministically,
// from a scenario and a seed.
//
// One root seed is split into named random streams (Streams), so adding a
// stream never shifts the others. A Plan is a streaming iterator over the
// planned uploads: for the open model Next yields arrivals in time order
// (phases in sequence: constant, ramp, burst, Poisson; capped by the
// scenario's duration and upload count), holding O(1) memory however many
// arrivals there are; for the closed model NextFor yields each device's
// next upload and think time. Sample draws from any scenarios.Dist.
//
// Hash digests every planned arrival, so two runs can prove they planned
// the same workload.
package workload
