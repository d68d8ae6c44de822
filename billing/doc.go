// Package billing is the consumer of the coordinator's usage streams: it
// turns each user's usage events (coordinator.UsageEvent) into stored
// bytes over time, byte-seconds and GB-months, the unit storage is priced
// in.
//
// A Ledger is pure: Add one event at a time (in each user's stream order),
// then Bills at the end of the billing period. It dedupes by stream entry
// id (a re-read of the same entry is ignored) and by (upload, kind) (the
// same decision metered twice is counted as a duplicate and billed once),
// and it notices a gap in a user's sequence numbers (events trimmed before
// they were read) and resynchronises from the next event's total. A Reader
// feeds a Ledger from Redis: it lists the usage streams with SCAN and
// reads each with XRANGE from where it stopped.
//
// Storage is billed per GiB-month, as S3 bills it: 2^30 bytes kept for a
// month of 730 hours (the average month, 8760 h / 12).
package billing
