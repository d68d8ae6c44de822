package history

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
)

// Writer streams records to an io.Writer as JSON lines. It is safe for
// concurrent use. Each record is encoded into a pooled buffer outside the
// lock (callers encode in parallel) and copied into a buffered writer under
// it, so memory stays bounded however long the run.
type Writer struct {
	bufs sync.Pool // *lineBuf

	mu    sync.Mutex
	bw    *bufio.Writer
	lines int64
	err   error
}

// NewWriter returns a Writer on w.
func NewWriter(w io.Writer) *Writer {
	return &Writer{bw: bufio.NewWriterSize(w, 256<<10), bufs: sync.Pool{New: newLineBuf}}
}

// Write appends one record. The first error is kept and returned by every
// later call and by Flush.
func (w *Writer) Write(rec any) error {
	lb := w.bufs.Get().(*lineBuf)
	defer w.bufs.Put(lb)
	encErr := lb.encode(rec)
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	if encErr != nil {
		w.err = fmt.Errorf("write history: %w", encErr)
		return w.err
	}
	if _, err := w.bw.Write(lb.b.Bytes()); err != nil {
		w.err = fmt.Errorf("write history: %w", err)
		return w.err
	}
	w.lines++
	return nil
}

// Lines reports how many records were written.
func (w *Writer) Lines() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.lines
}

// Flush writes buffered records through.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	if err := w.bw.Flush(); err != nil {
		w.err = fmt.Errorf("flush history: %w", err)
	}
	return w.err
}

// Set is a whole history decoded by kind, in file order.
type Set struct {
	Uploads   []Upload
	Commits   []Commit
	Conflicts []Conflict
	Rejects   []Reject
	Polls     []Poll
	Pushes    []Push
	Finals    []Final
	Scheds    []Sched
	Faults    []Fault
	Leftovers []Leftover
	Copies    []Copy
	Results   []Result
	Pendings  []Pending
	Fences    []Fence
	Usages    []Usage
	Storages  []Storage
	Mails     []Mail
	Stops     []Stop
	// A multi-region run's records (region.go).
	Replicas     []Replica
	Views        []View
	RegionFinals []RegionFinal
	Notifies     []Notify
	Refused      []Refused
	// Unknown counts lines of kinds this version does not know (kept for
	// forward compatibility, never an error).
	Unknown int
}

// ErrBadLine is wrapped by Read and Scan for a line that is not a JSON
// object with a string field "t", or that the record of its kind cannot
// decode.
var ErrBadLine = errors.New("bad history line")

// Read decodes a whole history. A truncated last line (an interrupted run)
// is ignored; any other malformed line is an error naming its line number.
func Read(r io.Reader) (*Set, error) {
	s := &Set{}
	return s, Scan(r, s.add)
}

// Scan calls fn with the kind and the bytes of each line of a history, in
// file order, keeping none of them: the streaming form of Read, for a
// history too large to hold (line is valid only during the call). An error
// from fn marks the line bad and stops the scan, except on a truncated last
// line (an interrupted run), which is ignored as Read ignores it.
func Scan(r io.Reader, fn func(kind string, line []byte) error) error {
	br := bufio.NewReaderSize(r, 1<<20)
	var kind struct {
		T string `json:"t"`
	}
	for n := 1; ; n++ {
		line, err := br.ReadBytes('\n')
		if len(line) == 0 && err == io.EOF {
			return nil
		}
		if err != nil && err != io.EOF {
			return fmt.Errorf("read history line %d: %w", n, err)
		}
		truncated := err == io.EOF // no trailing newline: the writer was cut off
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		kind.T = ""
		if jerr := json.Unmarshal(line, &kind); jerr != nil || kind.T == "" {
			if truncated {
				return nil
			}
			return fmt.Errorf("%w %d: %.80s", ErrBadLine, n, line)
		}
		if derr := fn(kind.T, line); derr != nil {
			if truncated {
				return nil
			}
			return fmt.Errorf("%w %d: %w", ErrBadLine, n, derr)
		}
		if truncated {
			return nil
		}
	}
}

func (s *Set) add(kind string, line []byte) error {
	switch kind {
	case KindUpload:
		return appendJSON(line, &s.Uploads)
	case KindCommit:
		return appendJSON(line, &s.Commits)
	case KindConflict:
		return appendJSON(line, &s.Conflicts)
	case KindReject:
		return appendJSON(line, &s.Rejects)
	case KindPoll:
		return appendJSON(line, &s.Polls)
	case KindPush:
		return appendJSON(line, &s.Pushes)
	case KindFinal:
		return appendJSON(line, &s.Finals)
	case KindSched:
		return appendJSON(line, &s.Scheds)
	case KindFault:
		return appendJSON(line, &s.Faults)
	case KindLeftover:
		return appendJSON(line, &s.Leftovers)
	case KindCopy:
		return appendJSON(line, &s.Copies)
	case KindResult:
		return appendJSON(line, &s.Results)
	case KindPending:
		return appendJSON(line, &s.Pendings)
	case KindFence:
		return appendJSON(line, &s.Fences)
	case KindUsage:
		return appendJSON(line, &s.Usages)
	case KindStorage:
		return appendJSON(line, &s.Storages)
	case KindMail:
		return appendJSON(line, &s.Mails)
	case KindStop:
		return appendJSON(line, &s.Stops)
	case KindReplica:
		return appendJSON(line, &s.Replicas)
	case KindView:
		return appendJSON(line, &s.Views)
	case KindRegionFinal:
		return appendJSON(line, &s.RegionFinals)
	case KindNotify:
		return appendJSON(line, &s.Notifies)
	case KindRefused:
		return appendJSON(line, &s.Refused)
	default:
		s.Unknown++
		return nil
	}
}

func appendJSON[T any](line []byte, dst *[]T) error {
	var v T
	if err := json.Unmarshal(line, &v); err != nil {
		return err
	}
	*dst = append(*dst, v)
	return nil
}

// Merge appends other's records to s (shards of one run: their users are
// disjoint, so the union is the run's history).
func (s *Set) Merge(other *Set) {
	s.Uploads = append(s.Uploads, other.Uploads...)
	s.Commits = append(s.Commits, other.Commits...)
	s.Conflicts = append(s.Conflicts, other.Conflicts...)
	s.Rejects = append(s.Rejects, other.Rejects...)
	s.Polls = append(s.Polls, other.Polls...)
	s.Pushes = append(s.Pushes, other.Pushes...)
	s.Finals = append(s.Finals, other.Finals...)
	s.Scheds = append(s.Scheds, other.Scheds...)
	s.Faults = append(s.Faults, other.Faults...)
	s.Leftovers = append(s.Leftovers, other.Leftovers...)
	s.Copies = append(s.Copies, other.Copies...)
	s.Results = append(s.Results, other.Results...)
	s.Pendings = append(s.Pendings, other.Pendings...)
	s.Fences = append(s.Fences, other.Fences...)
	s.Usages = append(s.Usages, other.Usages...)
	s.Storages = append(s.Storages, other.Storages...)
	s.Mails = append(s.Mails, other.Mails...)
	s.Stops = append(s.Stops, other.Stops...)
	s.Replicas = append(s.Replicas, other.Replicas...)
	s.Views = append(s.Views, other.Views...)
	s.RegionFinals = append(s.RegionFinals, other.RegionFinals...)
	s.Notifies = append(s.Notifies, other.Notifies...)
	s.Refused = append(s.Refused, other.Refused...)
	s.Unknown += other.Unknown
}

// ReadFiles reads and merges the histories at paths.
func ReadFiles(paths ...string) (*Set, error) {
	all := &Set{}
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return nil, fmt.Errorf("read history: %w", err)
		}
		s, err := Read(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		all.Merge(s)
	}
	return all, nil
}
