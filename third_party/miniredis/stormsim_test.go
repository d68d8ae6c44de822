package miniredis

// stormsim fork: a deleted key keeps no version while no connection
// watches, and WATCH still sees every change.

import (
	"strconv"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2/proto"
)

func TestKeyVersion_DroppedOnDelete(t *testing.T) {
	s := RunT(t)
	c, err := proto.Dial(s.Addr())
	ok(t, err)
	defer c.Close()
	for i := 0; i < 1000; i++ {
		k := "k" + strconv.Itoa(i)
		mustOK(t, c, "SET", k, "v")
		mustDo(t, c, "DEL", k, proto.Int(1))
	}
	if n := len(s.db(0).keyVersion); n != 0 {
		t.Fatalf("%d versions kept for deleted keys", n)
	}
}

func TestKeyVersion_WatchSeesDeleteAndRecreate(t *testing.T) {
	s := RunT(t)
	c, err := proto.Dial(s.Addr())
	ok(t, err)
	defer c.Close()
	c2, err := proto.Dial(s.Addr())
	ok(t, err)
	defer c2.Close()

	// A key deleted while nobody watched, then watched, then written.
	mustOK(t, c, "SET", "a", "1")
	mustDo(t, c, "DEL", "a", proto.Int(1))
	mustOK(t, c, "WATCH", "a")
	mustOK(t, c2, "SET", "a", "2")
	mustOK(t, c, "MULTI")
	mustDo(t, c, "SET", "a", "3", proto.Inline("QUEUED"))
	mustDo(t, c, "EXEC", proto.NilList)

	// A watched key deleted by another connection.
	mustOK(t, c, "WATCH", "a")
	mustDo(t, c2, "DEL", "a", proto.Int(1))
	mustOK(t, c, "MULTI")
	mustDo(t, c, "SET", "a", "4", proto.Inline("QUEUED"))
	mustDo(t, c, "EXEC", proto.NilList)

	// Deleted, then set again to the same value, while watched.
	mustOK(t, c2, "SET", "b", "1")
	mustOK(t, c, "WATCH", "b")
	mustDo(t, c2, "DEL", "b", proto.Int(1))
	mustOK(t, c2, "SET", "b", "1")
	mustOK(t, c, "MULTI")
	mustDo(t, c, "SET", "b", "5", proto.Inline("QUEUED"))
	mustDo(t, c, "EXEC", proto.NilList)

	// No change: EXEC runs, and the count of watchers is back to 0.
	mustOK(t, c, "WATCH", "b")
	mustOK(t, c, "MULTI")
	mustDo(t, c, "SET", "b", "6", proto.Inline("QUEUED"))
	mustDo(t, c, "EXEC", proto.Array(proto.Inline("OK")))
	if n := s.watching.Load(); n != 0 {
		t.Fatalf("%d connections counted as watching", n)
	}
}

// FastForward expires exactly the keys and hash fields whose TTL ran out,
// with many keys, in whatever order it visits them.
func TestFastForward_ExpiresDue(t *testing.T) {
	s := RunT(t)
	for i := 0; i < 3000; i++ {
		k := "k" + strconv.Itoa(i)
		s.Set(k, "v")
		if i%3 != 0 {
			s.SetTTL(k, time.Duration(i%3)*time.Second) // 1s or 2s; every third key none
		}
	}
	s.HSet("h", "a", "1", "b", "2")
	s.HSet("gone", "a", "1")
	s.SetTTL("gone", time.Second)
	s.FastForward(1500 * time.Millisecond)
	for i := 0; i < 3000; i++ {
		k := "k" + strconv.Itoa(i)
		if want := i%3 != 1; s.Exists(k) != want {
			t.Fatalf("%s exists %v, want %v", k, s.Exists(k), want)
		}
	}
	if s.Exists("gone") || !s.Exists("h") {
		t.Fatalf("hash with TTL exists %v, without %v", s.Exists("gone"), s.Exists("h"))
	}
	s.FastForward(time.Second)
	for i := 0; i < 3000; i++ {
		if want := i%3 == 0; s.Exists("k"+strconv.Itoa(i)) != want {
			t.Fatalf("k%d exists %v after 2.5s, want %v", i, !want, want)
		}
	}
	if n := len(s.db(0).keyVersion); n != len(s.db(0).keys) {
		t.Fatalf("%d versions for %d keys", n, len(s.db(0).keys))
	}
}
