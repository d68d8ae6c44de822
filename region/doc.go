// Package region replicates committed file versions from a user's home
// region to the other regions: deployable code, like the coordinator, that
// talks to S3 only through aws-sdk-go-v2 calls and to Redis only through
// go-redis, and imports neither sim nor report.
//
// # Design
//
// One truth per file. Every user has one home region; a file's versions are
// decided there, by that region's own coordinator (one coordinator, one S3
// bucket and one Redis per region). Other regions never decide anything:
// they hold read replicas of the home region's committed versions.
//
// Stage at home. A device connected to another region stages its upload
// directly in its user's home region (a presigned PUT to the home bucket),
// instead of staging locally and having the bytes forwarded. The bytes cross
// regions once either way; staging at home needs no forwarder, no second S3
// event, no second copy of the bytes to clean up and no extra failure mode
// between "staged" and "decided", and the device polls the one result API
// that decides. The price is the cross-region round trip on the staging PUT
// and the result query, which the simulation measures. While the home region
// is unreachable its users' uploads are refused at the device (the staging
// PUT fails with a reason naming the home region); the device keeps its edit
// and nothing is accepted that could later be lost.
//
// Replication is event-driven. The coordinator keeps every committed version
// under an immutable key, versions/{user}/{pathid}/{version}, whose metadata
// names the path, the version and the SHA-256. Its ObjectCreated event in the
// home region triggers Replicator.Handle (a Lambda, as S3 replication would
// be), which copies that version to each other region's final key
// files/{user}/{path}:
//
//  1. HEAD the target's final key; if it already holds this version or a
//     newer one, stop (a duplicate or a late event changes nothing);
//  2. GET the version from the home region;
//  3. PUT it to the target with If-Match on the ETag read in step 1 (or
//     If-None-Match: * when the key was absent), metadata version, sha256
//     and path; a 412 means another copy got there first: go back to 1;
//  4. publish a notification {user, path, version, region} on the target
//     region's Redis channel NotifyChannel(user), for devices connected
//     there.
//
// So versions apply only forward, each at most once, whatever order and
// however often events arrive. A failed step (a region's storage or Redis
// down, a partition) is retried with bounded exponential backoff; an event
// whose attempts run out is returned as an error (the Lambda's dead-letter
// queue), never dropped silently.
//
// Hooks reach inside for the harness's self-test only: nil in every
// deployment, they can skip one guard each: the newer-only check and
// conditional write (versions then apply in whatever order events
// arrive), the conditional write alone (copies in flight together both
// write), the retry (a failure drops the event), the immutable source
// (home's final key is copied instead, newer bytes under an older
// version), notifying after the copy (devices are told before the version
// is there), notifying at all (devices learn of a version on their next
// read only) and notifying applied versions only (a duplicate is
// announced again).
package region
