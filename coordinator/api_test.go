package coordinator_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/stormsim/stormsim/coordinator"
)

// decideOnHead is an ObjectStore whose HeadObject first lets the handler
// decide: the moment a decision lands between the API's result read and
// its look at the staged object.
type decideOnHead struct {
	coordinator.ObjectStore
	decide func()
}

func (s decideOnHead) HeadObject(ctx context.Context, in *s3.HeadObjectInput, opts ...func(*s3.Options)) (*s3.HeadObjectOutput, error) {
	s.decide()
	return s.ObjectStore.HeadObject(ctx, in, opts...)
}

// A poll that reads no result, then finds the staged object gone (the
// handler decided in between), answers the decision, not 404.
func TestAPI_Answer_DecidedBetweenReads(t *testing.T) {
	e := newTestEnv(t, coordinator.StrategyRedisLock, nil)
	ev := e.stage(coordinator.Upload{ID: "r1", User: "fay", Path: "p.txt", Device: "a"}, content(1))
	var decided atomic.Bool // set by the API's goroutine
	store := decideOnHead{ObjectStore: e.s3, decide: func() {
		if !decided.CompareAndSwap(false, true) {
			return
		}
		if err := e.c.HandleEvent(context.Background(), ev); err != nil {
			t.Error(err)
		}
	}}
	api, err := coordinator.New(coordinator.Config{Bucket: e.bucket, Strategy: coordinator.StrategyRedisLock,
		Prefix: "t:", LockTTL: 5 * time.Second, LockWait: 30 * time.Second, Now: time.Now}, store, e.rdb)
	if err != nil {
		t.Fatal(err)
	}
	tokens := coordinator.Tokens{Secret: []byte("s")}
	srv := httptest.NewServer(api.API(tokens))
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL+"/v1/uploads/r1", nil)
	req.Header.Set("Authorization", "Bearer "+tokens.Token("fay"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if !decided.Load() {
		t.Fatal("the API never looked at the staged object")
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d, want 200 with the decision", resp.StatusCode)
	}
	var r coordinator.Result
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Fatal(err)
	}
	if r.State != coordinator.StateCommitted {
		t.Errorf("state %q, want %q", r.State, coordinator.StateCommitted)
	}
}
