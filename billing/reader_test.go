package billing

import (
	"context"
	"fmt"
	"testing"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

func addEvent(t *testing.T, rdb *redis.Client, stream, user, upload string, delta, bytes, seq int64) {
	t.Helper()
	err := rdb.XAdd(context.Background(), &redis.XAddArgs{Stream: stream, Values: []any{
		"upload", upload, "user", user, "path", "p", "kind", "commit", "version", "1",
		"delta", delta, "bytes", bytes, "seq", seq, "at", at(int(seq)).UnixNano()}}).Err()
	if err != nil {
		t.Fatal(err)
	}
}

// TestReader_ReadInto_PagesAndResumes: two users' streams, read in pages
// of 2; a second ReadInto reads only the new entry.
func TestReader_ReadInto_PagesAndResumes(t *testing.T) {
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	defer rdb.Close()
	ctx := context.Background()
	for i := int64(1); i <= 5; i++ {
		addEvent(t, rdb, "p:{ann}:usage:events", "ann", fmt.Sprint("a", i), 10, 10*i, i)
	}
	addEvent(t, rdb, "p:{bob}:usage:events", "bob", "b1", 7, 7, 1)
	addEvent(t, rdb, "other:{bob}:usage:events", "bob", "x", 1000, 1000, 1) // another run's prefix

	r := NewReader(rdb, "p:{*}:usage:events")
	r.page = 2
	l := NewLedger()
	if n, err := r.ReadInto(ctx, l); err != nil || n != 6 {
		t.Fatalf("ReadInto = %d, %v; want 6 entries", n, err)
	}
	addEvent(t, rdb, "p:{bob}:usage:events", "bob", "b2", 3, 10, 2)
	if n, err := r.ReadInto(ctx, l); err != nil || n != 1 {
		t.Fatalf("second ReadInto = %d, %v; want the 1 new entry", n, err)
	}
	bills := l.Bills(at(0), at(10))
	if len(bills) != 2 || bills[0].Bytes != 50 || bills[0].Events != 5 || bills[1].Bytes != 10 || bills[1].Events != 2 {
		t.Errorf("bills = %+v", bills)
	}
}

func TestReader_ReadInto_MalformedEntry(t *testing.T) {
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	defer rdb.Close()
	if err := rdb.XAdd(context.Background(), &redis.XAddArgs{Stream: "p:{ann}:usage:events", Values: []any{"upload", "u"}}).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := NewReader(rdb, "p:{*}:usage:events").ReadInto(context.Background(), NewLedger()); err == nil {
		t.Error("a malformed entry was read without an error")
	}
}
