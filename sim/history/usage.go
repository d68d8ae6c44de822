package history

import "time"

// Billing kinds: what the harness read back about usage after the drain.
const (
	// KindUsage is one usage event read from a user's usage stream.
	KindUsage = "usage"
	// KindStorage is one user's stored bytes, listed from S3, beside the
	// bytes the coordinator metered.
	KindStorage = "storage"
)

// Usage is one event of a user's usage stream (coordinator.UsageEvent),
// read back after the drain: the coordinator metered Delta bytes for a
// decision about upload ID (Kind "commit" or "copy"), bringing the user's
// meter to Bytes. Seq numbers the user's events from 1, without gaps
// unless the stream was trimmed. At is the decision's time as the
// coordinator's clock read it.
type Usage struct {
	T       string    `json:"t"`
	Entry   string    `json:"entry"` // the stream entry id
	ID      string    `json:"id"`    // the upload
	User    string    `json:"user"`
	Path    string    `json:"path"`
	Kind    string    `json:"kind"`
	Version int64     `json:"version,omitempty"`
	Delta   int64     `json:"delta"`
	Bytes   int64     `json:"bytes"`
	Seq     int64     `json:"seq"`
	At      time.Time `json:"at"`
}

// Storage is what one user stores, read back after the drain: the sizes
// of the objects listed (ListObjectsV2) under the user's final and version
// prefixes, and the coordinator's meter for the user. At is when it was
// read (the end of the billed period).
type Storage struct {
	T       string    `json:"t"`
	User    string    `json:"user"`
	Stored  int64     `json:"stored_bytes"`
	Objects int64     `json:"objects"`
	Metered int64     `json:"metered_bytes"`
	At      time.Time `json:"at"`
	// KeepsVersions: the strategy keeps every committed version under the
	// version prefix (redis-lock), so a commit stores its bytes twice.
	KeepsVersions bool `json:"keeps_versions"`
	// Error is why the listing or the meter could not be read; the user's
	// bill is then not judged.
	Error string `json:"error,omitempty"`
}
