package usage

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/redis/go-redis/v9"

	"github.com/stormsim/stormsim/coordinator"
	"github.com/stormsim/stormsim/internal/testsrv"
	"github.com/stormsim/stormsim/sim/history"
)

type env struct {
	s3  *s3.Client
	rdb *redis.Client
	c   *coordinator.Coordinator
}

func newEnv(t *testing.T) *env {
	t.Helper()
	mr := miniredis.RunT(t)
	client := testsrv.NewFakeS3(t, nil, nil, "bkt").Client
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	t.Cleanup(func() { rdb.Close() })
	c, err := coordinator.New(coordinator.Config{Bucket: "bkt", Prefix: "r:", ObjectPrefix: "run/", Now: time.Now}, client, rdb)
	if err != nil {
		t.Fatal(err)
	}
	return &env{s3: client, rdb: rdb, c: c}
}

// upload stages and handles one upload of body.
func (e *env) upload(t *testing.T, user, id, path string, base int64, body string) {
	t.Helper()
	h := sha256.Sum256([]byte(body))
	u := coordinator.Upload{ID: id, User: user, Path: path, Base: base, Device: "d", SHA256: hex.EncodeToString(h[:])}
	key := e.c.StagingKey(user, id)
	if _, err := e.s3.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String("bkt"), Key: &key,
		Body: bytes.NewReader([]byte(body)), Metadata: coordinator.Metadata(u)}); err != nil {
		t.Fatal(err)
	}
	ev := events.S3Event{Records: []events.S3EventRecord{{EventName: "ObjectCreated:Put",
		S3: events.S3Entity{Bucket: events.S3Bucket{Name: "bkt"}, Object: events.S3Object{Key: key}}}}}
	if err := e.c.HandleEvent(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
}

// records collects what ReadBack writes.
type records struct {
	mu       sync.Mutex
	storages map[string]history.Storage
	usages   []history.Usage
}

func (r *records) write(rec any) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch v := rec.(type) {
	case history.Storage:
		r.storages[v.User] = v
	case history.Usage:
		r.usages = append(r.usages, v)
	default:
		return fmt.Errorf("unexpected record %T", rec)
	}
	return nil
}

func TestReadBack_StoredFromListingMeteredFromRedis(t *testing.T) {
	e := newEnv(t)
	e.upload(t, "ann", "a1", "x.txt", 0, "first version")
	e.upload(t, "ann", "a2", "x.txt", 1, "second, longer version")
	e.upload(t, "ann", "a3", "x.txt", 1, "a loser")
	e.upload(t, "bob", "b1", "y.txt", 0, "bob's")
	e.upload(t, "cat", "c1", "z.txt", 0, "another shard's")
	// Something outside the coordinator removes one of ann's versions: the
	// listing must show it, whatever the meter says.
	if _, err := e.s3.DeleteObject(context.Background(), &s3.DeleteObjectInput{Bucket: aws.String("bkt"),
		Key: aws.String(e.c.VersionKey("ann", "x.txt", 1))}); err != nil {
		t.Fatal(err)
	}
	// A meter for a user who stores nothing (a phantom charge) is found too.
	if err := e.rdb.XAdd(context.Background(), &redis.XAddArgs{Stream: e.c.UsageStream("eve"), Values: []any{
		"upload", "e1", "user", "eve", "path", "p", "kind", "copy", "version", "0", "delta", "9", "bytes", "9",
		"seq", "1", "at", "1"}}).Err(); err != nil {
		t.Fatal(err)
	}
	recs := &records{storages: map[string]history.Storage{}}
	at := time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)
	err := ReadBack(context.Background(), Config{Coordinator: e.c, S3: e.s3, Redis: e.rdb, Users: []string{"ann", "dan"},
		Owns: func(u string) bool { return u != "cat" }, KeepsVersions: true, At: at}, recs.write)
	if err != nil {
		t.Fatal(err)
	}
	first, second, loser := int64(len("first version")), int64(len("second, longer version")), int64(len("a loser"))
	tests := []struct {
		user            string
		stored, metered int64
		objects         int64
	}{
		{"ann", second + second + loser, first + first + (second + second - first) + loser, 3},
		{"bob", 2 * 5, 2 * 5, 2},
		{"dan", 0, 0, 0}, // touched, stores nothing
		{"eve", 0, 0, 0}, // has a usage stream, no meter
	}
	for _, tt := range tests {
		st, ok := recs.storages[tt.user]
		if !ok {
			t.Errorf("%s: no storage record", tt.user)
			continue
		}
		if st.Stored != tt.stored || st.Metered != tt.metered || st.Objects != tt.objects || !st.At.Equal(at) ||
			!st.KeepsVersions || st.Error != "" {
			t.Errorf("%s: %+v, want stored %d metered %d objects %d", tt.user, st, tt.stored, tt.metered, tt.objects)
		}
	}
	if _, ok := recs.storages["cat"]; ok {
		t.Error("another shard's user was read back")
	}
	if len(recs.usages) != 5 {
		t.Errorf("%d usage records, want 5 (ann: 2 commits and a copy; bob: a commit; eve's)", len(recs.usages))
	}
	for _, u := range recs.usages {
		if u.T != history.KindUsage || u.Entry == "" || u.Seq == 0 || !strings.Contains("ann bob eve", u.User) {
			t.Errorf("usage record %+v", u)
		}
	}
}
