package scenarios

import (
	"errors"

	"github.com/stormsim/stormsim/internal/yamlconf"
)

// ErrInvalid is wrapped by every parse and validation error, so callers can
// branch with errors.Is(err, ErrInvalid) (simrun exits 2). The errors also
// wrap yamlconf.ErrInvalid, as every configuration error does.
var ErrInvalid = errors.New("invalid scenario")

// maxErrors bounds how many problems one load reports.
const maxErrors = yamlconf.MaxErrors

// FieldError is one problem in a scenario file. Error() reads
// "FILE:LINE: FIELD: MESSAGE", e.g.
//
//	scenarios/x.yaml:12: phases[1].rate: must be > 0, got -3
//
// Line is 0 when the problem has no place in the file (then "FILE: FIELD:
// MESSAGE"); Field is empty for syntax errors. It is the one field-error
// type of every configuration file (internal/yamlconf).
type FieldError = yamlconf.FieldError

// ErrorList holds several problems, ordered by line; Error() prints one
// per line.
type ErrorList = yamlconf.ErrorList

// fieldError is a FieldError of a scenario file.
func fieldError(file string, line int, field, msg string) *FieldError {
	return &FieldError{File: file, Line: line, Field: field, Msg: msg, Kind: ErrInvalid}
}

// quote shows a user-supplied value in a message, shortened if long.
func quote(s string) string { return yamlconf.Quote(s) }

// suggest returns ` (did you mean "x"?)` for a near miss, else "".
func suggest(name string, names []string) string { return yamlconf.Suggest(name, names) }
