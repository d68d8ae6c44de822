// Package history defines the records of a run's history.jsonl, a streaming
// writer for them and a reader that replays a saved file.
//
// The field names and kinds are the contract of ../DESIGN.md ("history.jsonl"):
// one JSON object per line, field "t" naming the kind. Outside checkers read
// these files; add fields freely, never rename or drop one.
package history

import "time"

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
)

// Upload outcomes as the device saw them.
const (
	OutcomeCommitted = "committed"
	OutcomeConflict  = "conflict"
	OutcomeRejected  = "rejected"
	OutcomeError     = "error"
	OutcomeUnknown   = "unknown"
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
	Outcome  string    `json:"outcome"`
	Version  int64     `json:"version,omitempty"`
	Copy     string    `json:"copy,omitempty"`
	Polls    int       `json:"polls"`
	Push     bool      `json:"push"` // the push arrived before polling told the outcome
	Phase    string    `json:"phase,omitempty"`
	Error    string    `json:"error,omitempty"`
	Reason   string    `json:"reason,omitempty"`
	Parts    int       `json:"parts,omitempty"` // >0 when uploaded as multipart
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
	State   string    `json:"state"` // pending|committed|conflict|rejected, or "error"
	Version int64     `json:"version,omitempty"`
	Copy    string    `json:"copy,omitempty"`
}

// Push is one push notification as the harness received it from the user's
// channel (before any simulated loss or delay towards the device).
type Push struct {
	T       string    `json:"t"`
	ID      string    `json:"id"`
	User    string    `json:"user"`
	At      time.Time `json:"at"`
	State   string    `json:"state"`
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
}

// Fault is one window during which a fault was injected.
type Fault struct {
	T    string    `json:"t"`
	Kind string    `json:"kind"`
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
}

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
