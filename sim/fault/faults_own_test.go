package fault

import (
	"context"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/stormsim/stormsim/coordinator"
)

// TestSet_LoseOwnLock: redis-lock-expiry deletes exactly the
// handler's own lock; redis-fence-rollback also takes its file's fencing
// counter one back, so the next holder is issued the same token. An
// upload that holds no lock is left alone.
func TestSet_LoseOwnLock(t *testing.T) {
	tests := []struct {
		name      string
		id        string
		rollback  bool
		wantLock  bool
		wantFence string
	}{
		{"expiry", "id1", false, false, "5"},
		{"rollback", "id1", true, false, "4"},
		{"no lease", "other", true, true, "5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mr := miniredis.RunT(t)
			rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
			t.Cleanup(func() { rdb.Close() })
			c, err := coordinator.New(coordinator.Config{Bucket: "b", Prefix: "p:", Now: time.Now}, nil, rdb)
			if err != nil {
				t.Fatal(err)
			}
			k := c.KeysFor("u1", "a.txt", "id1")
			other := c.KeysFor("u1", "b.txt", "id2")
			for _, key := range []string{k.Lock, other.Lock} {
				if err := mr.Set(key, "token"); err != nil {
					t.Fatal(err)
				}
			}
			if err := mr.Set(k.Fence, "5"); err != nil {
				t.Fatal(err)
			}
			f := &Set{target: Target{Redis: rdb}, coord: c, lease: func(id string) (string, string, bool) {
				return "u1", "a.txt", id == "id1"
			}}
			f.loseOwnLock(context.Background(), tt.id, tt.rollback)
			if got := mr.Exists(k.Lock); got != tt.wantLock {
				t.Errorf("own lock exists = %v, want %v", got, tt.wantLock)
			}
			if !mr.Exists(other.Lock) {
				t.Error("another file's lock was deleted")
			}
			if got, _ := mr.Get(k.Fence); got != tt.wantFence {
				t.Errorf("fence = %s, want %s", got, tt.wantFence)
			}
		})
	}
}
