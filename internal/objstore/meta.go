package objstore

import (
	"slices"
	"strings"
)

// packedMeta is an object's metadata in one string: key NUL value NUL,
// keys sorted. A stored object then holds one pointer-free allocation
// instead of a map and a string per value (BenchmarkCommit, with the
// coordinator's six entries: 245 bytes less live per upload). HTTP header
// names and values cannot hold a NUL byte.
type packedMeta string

// pack copies meta into a packedMeta; it keeps no reference to meta's
// strings (gofakes3 builds them from the request).
func pack(meta map[string]string) packedMeta {
	if len(meta) == 0 {
		return ""
	}
	var small [8]string
	keys := small[:0]
	n := 0
	for k, v := range meta {
		keys = append(keys, k)
		n += len(k) + len(v) + 2
	}
	slices.Sort(keys)
	var b strings.Builder
	b.Grow(n)
	for _, k := range keys {
		b.WriteString(k)
		b.WriteByte(0)
		b.WriteString(meta[k])
		b.WriteByte(0)
	}
	return packedMeta(b.String())
}

// unpack returns the metadata as the map gofakes3 answers with (a new
// map each call: callers may change it).
func (p packedMeta) unpack() map[string]string {
	m := make(map[string]string, strings.Count(string(p), "\x00")/2)
	rest := string(p)
	for rest != "" {
		k, after, _ := strings.Cut(rest, "\x00")
		v, tail, _ := strings.Cut(after, "\x00")
		m[k] = v
		rest = tail
	}
	return m
}
