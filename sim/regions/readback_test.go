package regions

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/stormsim/stormsim/coordinator"
	"github.com/stormsim/stormsim/sim/checker"
	"github.com/stormsim/stormsim/sim/env"
	"github.com/stormsim/stormsim/sim/history"
	"github.com/stormsim/stormsim/sim/workload"
)

func hexSum(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

// A device's read and the read-back hash the bytes a region serves: an
// object whose metadata names the committed version and its SHA-256 but
// whose bytes differ is recorded with its bytes' hash, and convergence and
// no-phantom fail.
func TestRun_ReadBack_HashesBytesNotMetadata(t *testing.T) {
	sc, err := SelfTestScenario(ScenarioOutage) // eu and us; its faults are not started
	if err != nil {
		t.Fatal(err)
	}
	hpath := filepath.Join(t.TempDir(), "history.jsonl")
	f, err := os.Create(hpath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := history.NewWriter(f)
	r := &run{sc: sc, net: newNetwork(sc.Regions), rec: newRecorder(w), count: env.NewCounter(nil),
		queueFaults: &active{on: map[int]bool{}, specs: sc.Regions.Faults}, home: []int{0}}
	defer r.net.mux.Close()
	if err := r.build(Options{Scenario: sc}, workload.NewStreams(1)); err != nil {
		t.Fatal(err)
	}
	defer r.close()
	ctx := context.Background()

	// u00000, homed in eu, commits v1 there; it is replicated to us.
	const user, path = "u00000", "f000.txt"
	good, bad := []byte("the committed bytes"), []byte("other bytes, same length")
	u := coordinator.Upload{ID: "r00000001", User: user, Path: path, Device: "u00000-d00", SHA256: hexSum(good), Size: int64(len(good))}
	key := coordinator.StagingKey(user, u.ID)
	r.rec.touch(user, path)
	if _, err := r.clients[0][0].PutObject(ctx, &s3.PutObjectInput{Bucket: new(bucket), Key: &key,
		Body: bytes.NewReader(good), Metadata: coordinator.Metadata(u)}); err != nil {
		t.Fatal(err)
	}
	if !r.waitIdle(ctx, time.Now().Add(time.Minute)) {
		t.Fatal("queues not idle")
	}
	// us now serves other bytes under v1's metadata.
	final := coordinator.FinalKey(user, path)
	if _, err := r.clients[1][1].PutObject(ctx, &s3.PutObjectInput{Bucket: new(bucket), Key: &final, Body: bytes.NewReader(bad),
		Metadata: map[string]string{coordinator.MetaVersion: "1", coordinator.MetaSHA256: hexSum(good), coordinator.MetaPath: url.PathEscape(path)}}); err != nil {
		t.Fatal(err)
	}
	if v := r.read(ctx, device{user: user, name: "u00000-d01", path: path, at: 1, home: 0}); v != 1 {
		t.Fatalf("the device in us read v%d, want v1", v)
	}
	r.readBack(ctx, []int{0})
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	set, err := history.ReadFiles(hpath)
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Views) != 1 || set.Views[0].SHA256 != hexSum(bad) {
		t.Errorf("views %+v, want one with the served bytes' sha256 %.12s", set.Views, hexSum(bad))
	}
	for _, rf := range set.RegionFinals {
		want := hexSum(good)
		if rf.Region == "us" {
			want = hexSum(bad)
		}
		if rf.Version != 1 || rf.SHA256 != want {
			t.Errorf("%s read back v%d sha256 %.12s, want v1 %.12s", rf.Region, rf.Version, rf.SHA256, want)
		}
	}
	rep := checker.Check(set, checker.Options{})
	for name, detail := range map[string]string{checker.NameConvergence: "region us holds v1 sha256 " + hexSum(bad)[:12],
		checker.NameNoPhantom: "read by u00000-d01 in us has v1"} {
		c, ok := rep.Find(name)
		if !ok || c.OK || !strings.Contains(c.Detail, detail) {
			t.Errorf("%s: ok=%v %q, want it failed naming %q", name, c.OK, c.Detail, detail)
		}
	}
}
