// Package coordinator is the system under test: the upload "truth system" of
// an end-to-end encrypted storage service. It is real code; it talks to S3
// only through aws-sdk-go-v2 calls (the ObjectStore interface) and to Redis
// only through go-redis, so the same handler runs against the embedded
// fakes, real servers, or inside AWS Lambda.
//
// # Staging protocol (what a client does)
//
// docs/client.md in the repository is the guide for client authors (who
// presigns the staging PUT, the head version, multipart metadata, the push
// channel, how often to poll), with worked examples in Go and shell that
// the tests run against `simrun serve`.
//
// A device uploads the new content of a file straight to the staging area:
//
//	PUT s3://BUCKET/staging/{user}/{uploadID}
//	x-amz-meta-path:   the target path, percent-encoded UTF-8 (url.PathEscape)
//	x-amz-meta-base:   the version the edit started from; 0 = "must not exist yet"
//	x-amz-meta-device: the device name (used in conflicted-copy names)
//	x-amz-meta-sha256: lowercase hex SHA-256 of the content
//	x-amz-meta-user:   the user; must equal {user} in the key
//
// {user} and {uploadID} are 1..128 characters of [A-Za-z0-9._-]; the client
// chooses uploadID (a random 128-bit hex string is right). The target path
// must be a clean relative path: no "." or ".." element, no leading "/", no
// empty element, no control characters, valid UTF-8, at most 1024 bytes.
// Uploads that break these rules, whose user does not match the key, or
// whose content does not hash to the declared SHA-256, are rejected with a
// recorded reason; nothing is written under the final prefix.
//
// # What the handler does
//
// S3 emits an ObjectCreated notification for the staged object; Handler
// runs for each record (events.S3Event). With the default strategy
// StrategyRedisLock:
//
//  1. read the staged object (metadata and content, hashed on the way);
//  2. take the lock for (user, path): SET NX PX with a random token, in one
//     script that also increments the file's fencing counter and returns the
//     head version; if a result for the upload already exists the event is a
//     duplicate and nothing more happens;
//  3. decide: base == head wins, anything else is a conflict;
//  4. winner: commit in Redis (head := head+1), fenced: the script rejects
//     the commit unless the fencing counter still holds this holder's value,
//     so a holder whose lock expired during a pause cannot commit; then copy
//     the staged object to versions/{user}/{pathid}/{version} (kept, never
//     overwritten) and to files/{user}/{path}; an S3 copy cannot be fenced,
//     so the winner's result (step 5) is written only while it still holds
//     its lock; one that lost it re-takes it and, if a later version was
//     committed meanwhile, restores the final object from that version's
//     immutable copy before answering;
//     loser: copy the staged object to a conflicted copy next to the file,
//     "name (conflicted copy DEVICE YYYY-MM-DD).ext" (" (2)", " (3)"... when
//     that name is taken), so a loser's bytes are never dropped;
//  5. write the result record (SET NX: a result never changes once written;
//     after a winner's copy, only while it holds the lock),
//     publish it on the user's push channel in the same script (so one push
//     per upload, however often the event is delivered), release the lock
//     (compare-and-delete);
//  6. delete the staged object.
//
// Every step is idempotent, so an at-least-once, late or duplicated event,
// or a crash between any two steps followed by Lambda's retry, reaches the
// same outcome: a retry after the commit finds the commit record and goes on
// from there; a retry after a conflicted copy reuses the reserved name.
//
// StrategyS3Conditional decides the winner without a lock: the winner's
// bytes are written to the final key with a conditional PUT (If-Match on the
// head object's ETag, If-None-Match: * for a new file); the head version
// lives in the final object's metadata (x-amz-meta-version).
//
// # Learning the outcome
//
// Push: the result JSON (see Result) is published on the Redis channel
// PushChannel(user). Poll: GET /v1/uploads/{uploadID} on the result API
// with "Authorization: Bearer TOKEN" (see Tokens) answers 200 with a Result;
// state is "pending" until the handler has decided, then one of
// "committed" (with version), "conflict" (with copy, the conflicted copy's
// key, and head) or "rejected" (with reason), and never changes again. A
// missing or wrong token gets 401; an upload of another user, or an id that
// was never staged, gets 404.
//
// # Usage metering
//
// The service bills what a user stores. Every decision that changes it
// updates the user's meter (a Redis hash, bytes and seq) in the same Redis
// script as the decision, so no crash falls between the two, and appends a
// usage event (UsageEvent: upload, user, path, kind, version, delta, the
// total after it, a per-user sequence number, the decision's time) to the
// user's stream UsageStream(user), trimmed with XADD MAXLEN ~
// Config.UsageStreamMaxLen (UsageStreamMaxLen by default; see there why
// that is safe):
//
//   - a commit, in ScriptCommit (redis-lock): the version kept under
//     versions/ (+size) and the final object replaced (+size minus the
//     previous head's size, which the head record keeps);
//   - a commit, in ScriptCommitOnce (s3-conditional, no versions/ copies):
//     the final object replaced, metered by the first record of a version
//     newer than the file's last metered one. The decision itself is the
//     conditional PUT, which Redis cannot share a script with; the record
//     is made by the winner after its PUT or, should it crash first, by
//     its retry or by the next handler that reads the head, so a crash
//     between decision and metering delays the meter but never loses it;
//   - a conflicted copy kept, in ScriptCopyName: +size when the name is
//     reserved (a retry reuses the name and meters nothing);
//   - a version expired, in ScriptCommit: with Config.KeepVersions N (a
//     bucket lifecycle rule keeping the newest N versions of each file),
//     the commit of version v expires version v-N, -its size, as an
//     'expire' event of the committing upload at the commit's time. The
//     expiry is decided with the commit, so it is metered with it; the
//     lifecycle rule deletes the bytes when version v's copy lands (or,
//     for a version copied after newer ones, at once), so no crash falls
//     between deleting and metering, and the commit runs once per version.
//
// Staged objects are never metered, so neither is their deletion or
// expiry: they are bytes in flight, removed once decided, and a rejected
// upload stores nothing. Every script is keyed by
// the upload (its commit record, its reserved name) and the redis-lock
// commit cannot run twice (a retry finds the commit record), so duplicated
// and retried events meter once. The meter counts the steady state the
// decisions imply: the S3 copies that realise a decision follow it, and a
// retry completes them. After every event is handled, metered bytes equal
// the bytes listed under files/{user}/ and versions/{user}/.
//
// The design this implements, and the facts about S3, Lambda and Redis it
// must respect, are in the repository's docs/design.md.
package coordinator
