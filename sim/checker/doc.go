// Package checker evaluates a run's history (history.jsonl) against the
// invariants of docs/design.md ("Invariants"): one winner, no lost update,
// nothing dropped, agreement, idempotence, stability, fencing, cleanliness,
// billing (the meter matches storage, each decision metered once), the
// scheduler's promises, and a linearizability check per file with
// porcupine.
//
// Check takes a decoded history.Set and returns a Report: one Result per
// invariant, under the stable names Name*. Each violation is counted and
// named by the upload ids (or keys, or scheduled event ids) involved, so a
// failing run points at the records to read. A check that cannot finish (the
// linearizability budget runs out) is Inconclusive, which is never a pass.
//
// The checker reads only the history: the server's decisions (commit,
// conflict, reject), what devices saw (upload, poll, push) and what was found
// after the drain (final, copy, result, leftover, usage, storage). It never
// talks to S3 or Redis.
//
// Stability compares an upload's polls with one another and, when the
// history has result records, the result stored after the drain with what
// the device was told; a missing result counts only if less than its TTL
// passed since the decision (it may have expired). Histories without result
// records check as they always did.
package checker
