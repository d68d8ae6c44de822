package yamlconf

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// ErrInvalid is wrapped by every FieldError: the input, not the program,
// is at fault.
var ErrInvalid = errors.New("invalid configuration")

// MaxErrors bounds how many problems one load reports.
const MaxErrors = 20

// FieldError is one problem in a configuration file. Error() reads
// "FILE:LINE: FIELD: MESSAGE", e.g.
//
//	scenarios/x.yaml:12: phases[1].rate: must be > 0, got -3
//
// Line is 0 when the problem has no place in the file (then "FILE: FIELD:
// MESSAGE"); Field is empty for syntax errors. The message ends with the
// offending value as written ("got -3") when there is one.
type FieldError struct {
	File  string
	Line  int
	Field string
	Msg   string
	// Kind is the caller's sentinel (scenarios.ErrInvalid, ...), wrapped
	// beside ErrInvalid; nil for none.
	Kind error
}

func (e *FieldError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Unwrap makes errors.Is(err, ErrInvalid) true, and errors.Is(err, Kind).
func (e *FieldError) Unwrap() []error {
	if e.Kind == nil {
		return []error{ErrInvalid}
	}
	return []error{ErrInvalid, e.Kind}
}

// ErrorList holds several problems; Error() prints one per line.
type ErrorList []*FieldError

func (l ErrorList) Error() string {
	s := make([]string, len(l))
	for i, e := range l {
		s[i] = e.Error()
	}
	return strings.Join(s, "\n")
}

// Unwrap returns the individual errors (errors.Is and errors.As see them).
func (l ErrorList) Unwrap() []error {
	out := make([]error, len(l))
	for i, e := range l {
		out[i] = e
	}
	return out
}

// Err returns nil, the single error, or the list ordered by line.
func (l ErrorList) Err() error {
	switch len(l) {
	case 0:
		return nil
	case 1:
		return l[0]
	}
	sort.SliceStable(l, func(i, j int) bool { return l[i].Line < l[j].Line })
	return l
}

// Quote shows a user-supplied value in a message, shortened if long.
func Quote(s string) string {
	const max = 40
	if len(s) > max {
		s = s[:max] + "..."
	}
	return fmt.Sprintf("%q", s)
}

// Suggest returns ` (did you mean "x"?)` for a near miss among names,
// else "".
func Suggest(name string, names []string) string {
	best, bestD := "", 3
	for _, c := range names {
		if dd := editDistance(name, c); dd < bestD {
			best, bestD = c, dd
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %s?)", strconv.Quote(best))
}

func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 99
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := prev[j-1]
			if a[i-1] != b[j-1] {
				c++
			}
			cur[j] = min(c, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
