// Package regions runs a multi-region scenario (a scenario with a
// `regions:` section): one embedded S3, one embedded Redis and one real
// coordinator per region, the deployable replicator (package region) in
// every region, a simulated wide-area network between them (a one-way
// latency per pair, partitions, a region's storage or Redis down, a
// delayed or duplicating replication queue), and devices connected to
// their nearest region.
//
// A device reads the file from its own region (a view record: what that
// region showed, and how far behind the home head it was), stages its
// edit in its user's home region across the network (refused, with the
// reason, while home is unreachable: nothing accepted is ever lost), and
// polls the home region's result. Each committed version's S3 event in the
// home region goes through that region's replication queue to its
// replicator, which copies it to the other regions and notifies them; on
// each notification, devices of the user connected there read the file.
//
// After the drain (queues empty, the coordinators' sweep of staged uploads
// run, queues empty again) every touched file is read back from every
// region's storage, bytes hashed, and the history is checked by
// sim/checker: the single-region invariants for the home decisions plus
// convergence, no-regression, no-phantom, replication idempotence and
// notified.
// Measure derives the lag, staleness, traffic and notification figures
// from the history alone.
package regions
