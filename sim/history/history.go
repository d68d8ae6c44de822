// Package history defines the records of a run's history.jsonl, a streaming
// writer for them and a reader that replays a saved file.
//
// The field names and kinds are the contract of docs/contract.md
// ("history.jsonl"; the schema docs/schema/history.schema.json is generated
// from these types): one JSON object per line, field "t" naming the kind.
// Outside checkers read these files; add fields freely (snake_case json
// tags), never rename or drop one.
//
// The kinds, by who writes them:
//
//   - what devices saw: upload (one per upload, when its device knows the
//     outcome or gives up), poll (each answer of the result API), push (each
//     push notification received);
//   - the server's decisions: commit, conflict, reject; and fence, each
//     fencing token as the lock strategy issued it with a lock (a commit
//     under a token older than one already issued for its file is visible
//     by comparing the two);
//   - what the harness read back after the drain: final (each touched file
//     in S3), copy (each conflicted copy), result (the stored result of each
//     upload whose device got an answer, read through the coordinator's
//     result store; see Result), leftover (a staged object, lock or multipart
//     upload that should not be there);
//   - what the harness read back about billing after the drain: usage
//     (each event of each user's usage stream) and storage (each user's
//     bytes listed from S3, beside the coordinator's meter);
//   - the rest: sched (one scheduled event), mail (one e-mail a mail server
//     accepted), fault (one fault window).
//
// A result record looks like
//
//	{"t":"result","id":"…","user":"u00001","state":"committed","version":3,
//	 "found":true,"at":"…","ttl_seconds":86400}
//
// found is false (and state empty) when nothing is stored under the upload
// any more: a violation of stability unless the result may have expired,
// i.e. at least ttl_seconds passed between the decision and at. Histories
// written before this kind existed have no result records, and checkers
// must not require them.
package history

import (
	"time"

	"github.com/stormsim/stormsim/coordinator"
)

// Record kinds, the value of the "t" field.
const (
	KindUpload   = "upload"
	KindCommit   = "commit"
	KindConflict = "conflict"
	KindReject   = "reject"
	KindPoll     = "poll"
	KindPush     = "push"
	KindFinal    = "final"
	KindSched    = "sched"
	KindFault    = "fault"
	KindLeftover = "leftover"
	KindCopy     = "copy"
	KindResult   = "result"
	KindPending  = "pending"
	KindFence    = "fence"
	KindMail     = "mail"
)

// Outcome is what became of an upload: the outcome of an upload record,
// and the state a poll, a push or a read-back result names. The decided
// outcomes are spelled as the coordinator's result states, so a device's
// outcome, the server's answer and the checker compare as equals.
type Outcome string

// Outcomes. An upload record ends committed, conflict, rejected, error or
// unknown; a poll may also answer pending or fail (error); a push and a
// stored result name a decided outcome only.
const (
	OutcomePending   Outcome = coordinator.StatePending // a poll: not decided yet
	OutcomeCommitted Outcome = coordinator.StateCommitted
	OutcomeConflict  Outcome = coordinator.StateConflict
	OutcomeRejected  Outcome = coordinator.StateRejected
	// OutcomeError: the device's upload failed, or a poll failed.
	OutcomeError Outcome = "error"
	// OutcomeUnknown: the device gave up without learning the outcome.
	OutcomeUnknown Outcome = "unknown"
)

// Upload is one client-visible upload, written when the device knows its
// outcome (or gives up). Times are from the harness clock.
type Upload struct {
	T        string    `json:"t"`
	ID       string    `json:"id"`
	User     string    `json:"user"`
	Device   string    `json:"device"`
	Path     string    `json:"path"`
	Base     int64     `json:"base"`
	Size     int64     `json:"size"`
	SHA256   string    `json:"sha256"`
	Intended time.Time `json:"intended"` // planned arrival instant (open model)
	Start    time.Time `json:"start"`    // the device began the upload
	Staged   time.Time `json:"staged"`   // the staging PUT returned
	Done     time.Time `json:"done"`     // the device knew the outcome
	Outcome  Outcome   `json:"outcome"`
	Version  int64     `json:"version,omitempty"`
	Copy     string    `json:"copy,omitempty"`
	Polls    int       `json:"polls"`
	Push     bool      `json:"push"` // the push arrived before polling told the outcome
	Phase    string    `json:"phase,omitempty"`
	Error    string    `json:"error,omitempty"`
	Reason   string    `json:"reason,omitempty"`
	Parts    int       `json:"parts,omitempty"` // >0 when uploaded as multipart

	// Ready is set on a follow-on edit: when the device had learned the
	// outcome of its previous upload of the file and could start.
	Ready time.Time `json:"ready,omitzero"`
}

// QueueFrom is when the upload's launch lag starts: the planned instant,
// or for a follow-on edit the later moment its device became ready.
func (u *Upload) QueueFrom() time.Time {
	if u.Ready.After(u.Intended) {
		return u.Ready
	}
	return u.Intended
}

// Commit is a server decision: the upload became version Version.
type Commit struct {
	T       string    `json:"t"`
	ID      string    `json:"id"`
	User    string    `json:"user"`
	Path    string    `json:"path"`
	Base    int64     `json:"base"`
	Version int64     `json:"version"`
	SHA256  string    `json:"sha256"`
	Fence   int64     `json:"fence"`
	At      time.Time `json:"at"`
}

// Conflict is a server decision: the upload lost; its bytes are at Copy.
type Conflict struct {
	T    string    `json:"t"`
	ID   string    `json:"id"`
	User string    `json:"user"`
	Path string    `json:"path"`
	Base int64     `json:"base"`
	Head int64     `json:"head"`
	Copy string    `json:"copy"`
	At   time.Time `json:"at"`
}

// Fence is a fencing token issued with a lock (redis-lock strategy): the
// upload id took the lock of user's path with token Fence. At is read
// after the lock was taken, so it is no earlier than the token's issue; a
// commit (whose at is read before its fenced write) that comes after At
// with a lower token was made under a stale lock.
type Fence struct {
	T     string    `json:"t"`
	User  string    `json:"user"`
	Path  string    `json:"path"`
	Fence int64     `json:"fence"`
	ID    string    `json:"id"`
	At    time.Time `json:"at"`
}

// Reject is a server decision: the upload was invalid and nothing was written
// under the final prefix.
type Reject struct {
	T      string    `json:"t"`
	ID     string    `json:"id"`
	User   string    `json:"user"`
	Path   string    `json:"path,omitempty"`
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
}

// Poll is one answer of the result API as a device saw it.
type Poll struct {
	T       string    `json:"t"`
	ID      string    `json:"id"`
	At      time.Time `json:"at"`
	State   Outcome   `json:"state"` // pending|committed|conflict|rejected, or "error"
	Version int64     `json:"version,omitempty"`
	Copy    string    `json:"copy,omitempty"`
	// Error is why the query failed (State "error"): the cause behind the
	// summary's "errors by kind: poll N". The device polls again.
	Error string `json:"error,omitempty"`
}

// Push is one push notification as the harness received it from the user's
// channel (before any simulated loss or delay towards the device).
type Push struct {
	T       string    `json:"t"`
	ID      string    `json:"id"`
	User    string    `json:"user"`
	At      time.Time `json:"at"`
	State   Outcome   `json:"state"` // committed|conflict|rejected
	Version int64     `json:"version,omitempty"`
	Copy    string    `json:"copy,omitempty"`
}

// Final is the state of one file read back from S3 after the drain.
type Final struct {
	T       string `json:"t"`
	User    string `json:"user"`
	Path    string `json:"path"`
	Version int64  `json:"version"`
	SHA256  string `json:"sha256"`
	// Head is the version the coordinator's head record names (Redis for the
	// lock strategy, object metadata for s3-conditional).
	Head int64 `json:"head"`
}

// Sched is one scheduled event: when it was due, when it first ran (nil when
// never) and how many times its effect ran.
type Sched struct {
	T     string     `json:"t"`
	ID    string     `json:"id"`
	Due   time.Time  `json:"due"`
	Fired *time.Time `json:"fired"`
	Runs  int        `json:"runs"`
	// Refused: the insert was never stored (every attempt failed, or the
	// run ended first), so the event was never scheduled and cannot be
	// missed. The client that inserted it saw the error.
	Refused bool `json:"refused,omitempty"`
	// Mail: the event's effect is an e-mail, so the mail records must show
	// it delivered exactly once, never before Due.
	Mail bool `json:"mail,omitempty"`
}

// Mail is one message a mail server accepted, as read back from it (the
// embedded server's record, or Mailpit's API): which event it is for and
// when the server received it, on the run's clock.
type Mail struct {
	T         string    `json:"t"`
	Event     string    `json:"event"` // the X-Stormsim-Event header
	MessageID string    `json:"message_id"`
	Received  time.Time `json:"received"`
	Server    string    `json:"server"` // embedded|mailpit
}

// Fault is one window during which a fault was injected.
type Fault struct {
	T    string    `json:"t"`
	Kind string    `json:"kind"`
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
}

// Leftover kinds.
const (
	LeftoverStaged    = "staged"
	LeftoverLock      = "lock"
	LeftoverMultipart = "multipart"
)

// Leftover is state found after the drain that should not be there: a staged
// object, a lock or an unfinished multipart upload.
type Leftover struct {
	T    string `json:"t"`
	Kind string `json:"kind"` // staged|lock|multipart
	Key  string `json:"key"`
}

// Copy is a conflicted copy read back from S3 after the drain: the proof that
// a loser's bytes were kept. Found is false when the key named by the
// conflict decision does not exist.
type Copy struct {
	T      string `json:"t"`
	ID     string `json:"id"`
	Key    string `json:"key"`
	SHA256 string `json:"sha256"`
	Found  bool   `json:"found"`
}

// Result is the stored result of one answered upload, read back after the
// drain through the coordinator's result store: what a result query would
// answer now. The checker compares it with what the device was told (the
// upload record), so a result changed after the device stopped polling is
// seen. Found is false when nothing is stored; State is then empty.
type Result struct {
	T       string  `json:"t"`
	ID      string  `json:"id"`
	User    string  `json:"user"`
	State   Outcome `json:"state"` // committed|conflict|rejected as stored, "" when not found
	Version int64   `json:"version"`
	Copy    string  `json:"copy,omitempty"` // conflict: the conflicted copy's key
	Found   bool    `json:"found"`
	// At is when the result was read back (the harness clock).
	At time.Time `json:"at"`
	// TTLSeconds is how long the store keeps a result after its decision:
	// the coordinator's result TTL, less any jump of the Redis clock the run
	// injected. A result missing at least that long after its decision may
	// have expired. 0: results do not expire.
	TTLSeconds int64 `json:"ttl_seconds"`
	// Error is why the lookup failed (Found false: nothing is known) or why
	// the stored document could not be decoded (Found true).
	Error string `json:"error,omitempty"`
}

// Pending reasons: where an undecided upload's event was when the drain
// ended.
const (
	PendingQueued   = "queued"   // waiting for a free handler (or a delivery delay)
	PendingRunning  = "running"  // a handler was working on it and was stopped
	PendingRetrying = "retrying" // a handler failed; the retry had not run yet
	PendingDead     = "dead"     // retries exhausted: the dead-letter queue
	PendingLost     = "lost"     // no event left (dropped) and not reconciled
)

// Pending is a staged object still present after the drain, written with
// where its S3 event was when the drain ended (Reason, one of the Pending*
// constants). When no decision record names ID, the upload is pending: a
// liveness figure (results.json uploads.pending), not a lost upload, since
// its bytes are still staged. A pending record for an upload that was
// decided is only a leftover (the cleanliness check reports it).
type Pending struct {
	T      string `json:"t"`
	ID     string `json:"id"`
	User   string `json:"user"`
	Key    string `json:"key"`
	Reason string `json:"reason"`
}
