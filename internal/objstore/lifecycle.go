package objstore

import (
	"slices"
	"strconv"
	"strings"
)

// applyLifecycle enforces the version bound after key was stored: when key
// is version N of a file under the lifecycle prefix, only the Keep highest
// versions of that file stay. Versions are ordered by number, not by when
// they were stored, so a late copy of an old version is pruned at once and
// the highest version (the coordinator's head) is never the one dropped.
// The caller holds b.mu for writing.
func (b *Backend) applyLifecycle(bk *bucket, key string) {
	lc := b.opts.Lifecycle
	if lc.Keep <= 0 || !strings.HasPrefix(key, lc.Prefix) {
		return
	}
	dir, ok := versionDir(key, len(lc.Prefix))
	if !ok {
		return
	}
	type version struct {
		n   uint64
		key string
	}
	var vs []version
	it := bk.keys.Seek(dir)
	if it == nil {
		return
	}
	for ok := true; ok; ok = it.Next() {
		k := it.Key().(string)
		if !strings.HasPrefix(k, dir) {
			break
		}
		if n, ok := versionNumber(k[len(dir):]); ok {
			vs = append(vs, version{n, k})
		}
	}
	it.Close()
	if len(vs) <= lc.Keep {
		return
	}
	slices.SortFunc(vs, func(a, b version) int {
		if a.n < b.n {
			return -1
		}
		if a.n > b.n {
			return 1
		}
		return strings.Compare(a.key, b.key)
	})
	for _, v := range vs[:len(vs)-lc.Keep] {
		b.remove(bk, v.key)
		b.stats.Pruned++
	}
}

// versionDir returns the part of key up to and including its last "/"
// when what follows is a version number and the slash lies past the
// lifecycle prefix (at index min or later).
func versionDir(key string, min int) (string, bool) {
	i := strings.LastIndexByte(key, '/')
	if i < min {
		return "", false
	}
	if _, ok := versionNumber(key[i+1:]); !ok {
		return "", false
	}
	return key[:i+1], true
}

// versionNumber parses a plain decimal version (digits only).
func versionNumber(s string) (uint64, bool) {
	if s == "" || strings.IndexFunc(s, func(r rune) bool { return r < '0' || r > '9' }) >= 0 {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, 64)
	return n, err == nil
}
