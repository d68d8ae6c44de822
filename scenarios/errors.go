package scenarios

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// ErrInvalid is wrapped by every parse and validation error, so callers can
// branch with errors.Is(err, ErrInvalid) (simrun exits 2).
var ErrInvalid = errors.New("invalid scenario")

// maxErrors bounds how many problems one load reports.
const maxErrors = 20

// FieldError is one problem in a scenario file. Error() reads
// "FILE:LINE: FIELD: MESSAGE", e.g.
//
//	scenarios/x.yaml:12: phases[1].rate: must be > 0, got -3
//
// Line is 0 when the problem has no place in the file (then "FILE: FIELD:
// MESSAGE"); Field is empty for syntax errors.
type FieldError struct {
	File  string
	Line  int
	Field string
	Msg   string
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

// Unwrap makes errors.Is(err, ErrInvalid) true.
func (e *FieldError) Unwrap() error { return ErrInvalid }

// ErrorList holds several problems, ordered by line; Error() prints one
// per line.
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

// err returns nil, the single error, or the sorted list.
func (l ErrorList) err() error {
	switch len(l) {
	case 0:
		return nil
	case 1:
		return l[0]
	}
	sort.SliceStable(l, func(i, j int) bool { return l[i].Line < l[j].Line })
	return l
}

// quote shows a user-supplied value in a message, shortened if long.
func quote(s string) string {
	const max = 40
	if len(s) > max {
		s = s[:max] + "..."
	}
	return fmt.Sprintf("%q", s)
}
