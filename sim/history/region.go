package history

import "time"

// Record kinds of a multi-region run (scenario "regions:"). A file's
// versions are decided in its user's home region, whose coordinator writes
// the usual upload, commit, conflict, final... records; these say what the
// other regions held and showed.
const (
	KindReplica     = "replica"
	KindView        = "view"
	KindRegionFinal = "region_final"
	KindNotify      = "notify"
	KindRefused     = "refused"
)

// Replica outcomes: the replicator's verdict for one event at one region.
const (
	ReplicaApplied = "applied" // the version was written to the region
	ReplicaSkipped = "skipped" // the region already held it or a newer one
	ReplicaFailed  = "failed"  // the attempts ran out: the event's dead letter
)

// Replica is one replication event handled for one target region: version
// Version of user's path, copied from Home (applied), found already there
// or superseded (skipped), or given up (failed). Start is before the target
// was read, At after the write: an applied version is visible in the region
// no later than At and not before Start.
type Replica struct {
	T        string    `json:"t"`
	Region   string    `json:"region"`
	Home     string    `json:"home"`
	User     string    `json:"user"`
	Path     string    `json:"path"`
	Version  int64     `json:"version"`
	SHA256   string    `json:"sha256"`
	Outcome  string    `json:"outcome"` // applied|skipped|failed
	Held     int64     `json:"held"`    // the version the region held before (0: none)
	Bytes    int64     `json:"bytes"`   // bytes copied across regions
	Notified bool      `json:"notified"`
	Start    time.Time `json:"start"`
	At       time.Time `json:"at"`
	// Committed is when the home region committed the version (the start
	// of its replication lag).
	Committed time.Time `json:"committed,omitzero"`
	Error     string    `json:"error,omitempty"`
}

// View is one read of a file by a device from the region it is connected
// to: the version that region showed (0: none yet) between Start and At,
// as its metadata names it, and SHA256 of the bytes it served (not the
// one its metadata claims). HomeHead is the version the home region had
// committed when the read began (the staleness is HomeHead - Version,
// when positive).
type View struct {
	T        string    `json:"t"`
	Region   string    `json:"region"`
	Home     string    `json:"home"`
	Device   string    `json:"device"`
	User     string    `json:"user"`
	Path     string    `json:"path"`
	Version  int64     `json:"version"`
	SHA256   string    `json:"sha256,omitempty"`
	HomeHead int64     `json:"home_head"`
	Start    time.Time `json:"start"`
	At       time.Time `json:"at"`
}

// RegionFinal is one file as read back from one region's storage after the
// drain: its version metadata and the SHA-256 of the bytes read (Found
// false: the region has no object for the file).
type RegionFinal struct {
	T       string `json:"t"`
	Region  string `json:"region"`
	Home    string `json:"home"`
	User    string `json:"user"`
	Path    string `json:"path"`
	Version int64  `json:"version"`
	SHA256  string `json:"sha256"`
	Size    int64  `json:"size"`
	Found   bool   `json:"found"`
}

// Notify is one replication notification as received in a region (the
// channel devices connected there listen on).
type Notify struct {
	T       string    `json:"t"`
	Region  string    `json:"region"`
	User    string    `json:"user"`
	Path    string    `json:"path"`
	Version int64     `json:"version"`
	At      time.Time `json:"at"`
}

// Refused is an upload its device could not stage because the user's home
// region was unreachable (down, or partitioned from the device's region):
// nothing was accepted, the device keeps its edit, Reason says why.
type Refused struct {
	T      string    `json:"t"`
	Region string    `json:"region"` // where the device is connected
	Home   string    `json:"home"`
	User   string    `json:"user"`
	Device string    `json:"device"`
	Path   string    `json:"path"`
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
}
