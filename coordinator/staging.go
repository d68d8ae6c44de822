package coordinator

import (
	"errors"
	"fmt"
	"net/url"
	"path"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Key layout and metadata names of the staging protocol.
const (
	StagingPrefix = "staging/"
	FinalPrefix   = "files/"
	// VersionPrefix keeps every committed version (redis-lock strategy).
	VersionPrefix = "versions/"

	MetaPath   = "path"
	MetaBase   = "base"
	MetaDevice = "device"
	MetaSHA256 = "sha256"
	MetaUser   = "user"

	// Metadata the coordinator sets on final objects.
	MetaVersion = "version"
	MetaUpload  = "upload"

	MaxPathBytes = 1024
	maxIDBytes   = 128
	maxDevice    = 64
)

// ErrInvalidUpload is wrapped by every validation failure; its message is
// the recorded reason of a rejected upload.
var ErrInvalidUpload = errors.New("invalid upload")

// Upload is a staged upload as the handler understands it.
type Upload struct {
	ID     string
	User   string
	Path   string
	Base   int64
	Device string
	SHA256 string
	Size   int64
}

// StagingKey is the key a device uploads to.
func StagingKey(user, uploadID string) string {
	return StagingPrefix + user + "/" + uploadID
}

// FinalKey is where a committed file lives.
func FinalKey(user, p string) string { return FinalPrefix + user + "/" + p }

// ParseStagingKey splits staging/{user}/{uploadID}.
func ParseStagingKey(key string) (user, id string, err error) {
	rest, ok := strings.CutPrefix(key, StagingPrefix)
	if !ok {
		return "", "", fmt.Errorf("%w: key %q is not under %s", ErrInvalidUpload, key, StagingPrefix)
	}
	user, id, ok = strings.Cut(rest, "/")
	if !ok || !ValidName(user) || !ValidName(id) {
		return "", "", fmt.Errorf("%w: key %q is not staging/{user}/{uploadID}", ErrInvalidUpload, key)
	}
	return user, id, nil
}

// ValidName reports whether s may be a user or upload id: 1..128 characters
// of [A-Za-z0-9._-], and not "." or "..".
func ValidName(s string) bool {
	if s == "" || len(s) > maxIDBytes || s == "." || s == ".." {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// ValidatePath checks that p is a clean relative path.
func ValidatePath(p string) error {
	switch {
	case p == "":
		return fmt.Errorf("%w: empty path", ErrInvalidUpload)
	case len(p) > MaxPathBytes:
		return fmt.Errorf("%w: path is %d bytes, more than %d", ErrInvalidUpload, len(p), MaxPathBytes)
	case !utf8.ValidString(p):
		return fmt.Errorf("%w: path is not valid UTF-8", ErrInvalidUpload)
	case strings.HasPrefix(p, "/"):
		return fmt.Errorf("%w: path %q is absolute", ErrInvalidUpload, p)
	}
	for _, r := range p {
		if unicode.IsControl(r) {
			return fmt.Errorf("%w: path %q has a control character", ErrInvalidUpload, p)
		}
	}
	for _, el := range strings.Split(p, "/") {
		if el == "" || el == "." || el == ".." {
			return fmt.Errorf("%w: path %q is not clean (element %q)", ErrInvalidUpload, p, el)
		}
	}
	if path.Clean(p) != p {
		return fmt.Errorf("%w: path %q is not clean", ErrInvalidUpload, p)
	}
	return nil
}

// Metadata builds the staging metadata for an upload (the x-amz-meta-*
// headers without the prefix).
func Metadata(u Upload) map[string]string {
	return map[string]string{
		MetaPath:   url.PathEscape(u.Path),
		MetaBase:   strconv.FormatInt(u.Base, 10),
		MetaDevice: u.Device,
		MetaSHA256: u.SHA256,
		MetaUser:   u.User,
	}
}

// ParseMetadata validates the staged object's metadata against its key.
// Metadata keys are matched case-insensitively (S3 clients differ).
func ParseMetadata(user, id string, meta map[string]string) (Upload, error) {
	return parseMetadata(user, id, meta, true)
}

// parseMetadata is ParseMetadata; checkPath false skips ValidatePath (a
// self-test variant without GuardPathValidation).
func parseMetadata(user, id string, meta map[string]string, checkPath bool) (Upload, error) {
	u := Upload{ID: id, User: user}
	get := func(k string) (string, bool) {
		if v, ok := meta[k]; ok {
			return v, true
		}
		for mk, v := range meta {
			if strings.EqualFold(mk, k) {
				return v, true
			}
		}
		return "", false
	}
	if len(meta) > 32 {
		return u, fmt.Errorf("%w: %d metadata entries", ErrInvalidUpload, len(meta))
	}
	mu, ok := get(MetaUser)
	if !ok {
		return u, fmt.Errorf("%w: missing metadata %q", ErrInvalidUpload, MetaUser)
	}
	if mu != user {
		return u, fmt.Errorf("%w: metadata user %.64q does not match staging key user %q", ErrInvalidUpload, mu, user)
	}
	raw, ok := get(MetaPath)
	if !ok {
		return u, fmt.Errorf("%w: missing metadata %q", ErrInvalidUpload, MetaPath)
	}
	if len(raw) > 3*MaxPathBytes {
		return u, fmt.Errorf("%w: path metadata is %d bytes", ErrInvalidUpload, len(raw))
	}
	p, err := url.PathUnescape(raw)
	if err != nil {
		return u, fmt.Errorf("%w: path is not percent-encoded: %v", ErrInvalidUpload, err)
	}
	if err := ValidatePath(p); err != nil && checkPath {
		return u, err
	}
	u.Path = p
	b, ok := get(MetaBase)
	if !ok {
		return u, fmt.Errorf("%w: missing metadata %q", ErrInvalidUpload, MetaBase)
	}
	u.Base, err = strconv.ParseInt(b, 10, 64)
	if err != nil || u.Base < 0 {
		return u, fmt.Errorf("%w: base %.32q is not a version number", ErrInvalidUpload, b)
	}
	u.Device, _ = get(MetaDevice)
	if !ValidName(u.Device) || len(u.Device) > maxDevice {
		return u, fmt.Errorf("%w: device %.64q is not a valid name", ErrInvalidUpload, u.Device)
	}
	u.SHA256, _ = get(MetaSHA256)
	if !isHex64(u.SHA256) {
		return u, fmt.Errorf("%w: sha256 %.80q is not 64 lowercase hex digits", ErrInvalidUpload, u.SHA256)
	}
	return u, nil
}

func isHex64(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// ConflictName is the name desktop sync clients give a losing edit:
// "dir/name (conflicted copy DEVICE YYYY-MM-DD).ext"; n > 1 appends " (n)"
// before the extension when that name is taken.
func ConflictName(p, device, date string, n int) string {
	stem, ext := conflictParts(p, device, date)
	if n > 1 {
		stem += fmt.Sprintf(" (%d)", n)
	}
	return stem + ext
}

// conflictParts splits a conflicted-copy name around where " (n)" goes.
func conflictParts(p, device, date string) (stem, ext string) {
	dir, file := path.Split(p)
	ext = path.Ext(file)
	if ext == file { // ".bashrc": a dotfile has no extension
		ext = ""
	}
	return fmt.Sprintf("%s%s (conflicted copy %s %s)", dir, strings.TrimSuffix(file, ext), device, date), ext
}
