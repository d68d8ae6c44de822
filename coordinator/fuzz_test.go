package coordinator_test

import (
	"net/url"
	"path"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stormsim/stormsim/coordinator"
)

// maxReason bounds the recorded reason of a rejection: hostile input must
// not turn into unbounded result documents.
const maxReason = 8 << 10

// FuzzParseMetadata feeds hostile staging metadata (as S3 returns it:
// header values, keys in any case) through the parser. It must not panic,
// must bound its error text, and whatever it accepts must be a valid upload
// that survives a round trip through Metadata.
func FuzzParseMetadata(f *testing.F) {
	f.Add("alice", "id1", "notes/plan.txt", "0", "phone", strings.Repeat("a", 64), "alice", "", "")
	f.Add("alice", "id1", "a%2F..%2F..%2Fetc%2Fpasswd", "1", "d", strings.Repeat("0", 64), "alice", "", "")
	f.Add("bob", "x", "%2Fabs", "-1", "", "", "mallory", "Path", "x")
	f.Add("bob", "x", "%ZZ", "9223372036854775808", "d", strings.Repeat("F", 64), "bob", "BASE", "2")
	f.Add("u", "i", strings.Repeat("%41", 1100), "00", "dev", strings.Repeat("f", 63)+"g", "u", "x-extra", strings.Repeat("y", 4096))
	f.Add("u", "i", "a%00b", "1", "d\n", strings.Repeat("a", 64), "u", "user", "u")
	f.Fuzz(func(t *testing.T, user, id, p, base, device, sha, metaUser, extraKey, extraVal string) {
		if !coordinator.ValidName(user) || !coordinator.ValidName(id) {
			return // the handler passes only what ParseStagingKey accepted
		}
		meta := map[string]string{"path": p, "base": base, "device": device, "sha256": sha, "user": metaUser}
		if extraKey != "" {
			meta[extraKey] = extraVal
		}
		u, err := coordinator.ParseMetadata(user, id, meta)
		if err != nil {
			if len(err.Error()) > maxReason {
				t.Fatalf("reason is %d bytes", len(err.Error()))
			}
			return
		}
		if u.User != user || meta["user"] != user {
			t.Fatalf("accepted metadata user %q for key user %q", meta["user"], user)
		}
		if err := coordinator.ValidatePath(u.Path); err != nil {
			t.Fatalf("accepted path %q: %v", u.Path, err)
		}
		if u.Base < 0 || len(u.SHA256) != 64 || !coordinator.ValidName(u.Device) {
			t.Fatalf("accepted %+v", u)
		}
		back, err := coordinator.ParseMetadata(user, id, coordinator.Metadata(u))
		if err != nil || back != u {
			t.Fatalf("round trip: %+v -> %+v, %v", u, back, err)
		}
	})
}

// FuzzParseStagingKey: no panic; an accepted key names valid ids and is
// exactly the key StagingKey builds from them.
func FuzzParseStagingKey(f *testing.F) {
	for _, k := range []string{"staging/alice/0123abcd", "staging/../x", "staging/a/b/c", "files/a/b",
		"staging//x", "staging/a/", "staging/" + strings.Repeat("a", 129) + "/x", "staging/a/.."} {
		f.Add(k)
	}
	f.Fuzz(func(t *testing.T, key string) {
		user, id, err := coordinator.ParseStagingKey(key)
		if err != nil {
			if len(err.Error()) > maxReason+len(key)*4 {
				t.Fatalf("reason is %d bytes", len(err.Error()))
			}
			return
		}
		if !coordinator.ValidName(user) || !coordinator.ValidName(id) {
			t.Fatalf("accepted %q: user %q id %q", key, user, id)
		}
		if got := coordinator.StagingKey(user, id); got != key {
			t.Fatalf("accepted %q, which StagingKey builds as %q", key, got)
		}
	})
}

// FuzzValidatePath: an accepted path is clean, relative, bounded, valid
// UTF-8, free of control characters and survives percent-encoding.
func FuzzValidatePath(f *testing.F) {
	for _, p := range []string{"a.txt", "dir/sub/file (conflicted copy d 2024-01-01).txt", "../x", "a//b", "/abs",
		"a/./b", "a\x00b", "a\nb", "\xff\xfe", "a/", strings.Repeat("é", 600), "Ω/∑/☃.md", "a\u202eb", "..."} {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, p string) {
		err := coordinator.ValidatePath(p)
		if err != nil {
			if len(err.Error()) > maxReason {
				t.Fatalf("reason is %d bytes", len(err.Error()))
			}
			return
		}
		switch {
		case len(p) > coordinator.MaxPathBytes, !utf8.ValidString(p), path.Clean(p) != p,
			strings.HasPrefix(p, "/"), p == ".", p == "..", strings.HasPrefix(p, "../"):
			t.Fatalf("accepted %q", p)
		}
		for _, el := range strings.Split(p, "/") {
			if el == "" || el == "." || el == ".." {
				t.Fatalf("accepted %q with element %q", p, el)
			}
		}
		if back, err := url.PathUnescape(url.PathEscape(p)); err != nil || back != p {
			t.Fatalf("percent-encoding round trip of %q gave %q, %v", p, back, err)
		}
		if name := coordinator.ConflictName(p, "dev", "2024-01-01", 2); !strings.Contains(name, "conflicted copy dev") {
			t.Fatalf("ConflictName(%q) = %q", p, name)
		}
	})
}
