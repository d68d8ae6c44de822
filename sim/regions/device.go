package regions

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/stormsim/stormsim/coordinator"
	"github.com/stormsim/stormsim/sim/history"
	"github.com/stormsim/stormsim/sim/workload"
)

// device is one planned upload's device: where it is connected (at) and
// its user's home region.
type device struct {
	user, name, path string
	at, home         int
}

// upload runs one planned upload: read the file from the device's region
// (its base), stage the edit in the home region, poll the home region's
// result until decided.
func (r *run) upload(ctx context.Context, d device, a workload.Arrival) {
	r.rec.touch(d.user, d.path)
	view := r.read(ctx, d)
	base := max(view-int64(a.Stale), 0)
	body := content(a.ContentSeed, a.Size)
	sum := sha256.Sum256(body)
	id := fmt.Sprintf("r%08d", a.Seq)
	u := coordinator.Upload{ID: id, User: d.user, Path: d.path, Base: base, Device: d.name, SHA256: hex.EncodeToString(sum[:]), Size: a.Size}
	rec := history.Upload{T: history.KindUpload, ID: id, User: d.user, Device: d.name, Path: d.path, Base: base,
		Size: a.Size, SHA256: u.SHA256, Intended: r.start.Add(a.At), Start: time.Now(), Phase: a.Phase}
	key := coordinator.StagingKey(d.user, id)
	_, err := r.clients[d.at][d.home].PutObject(ctx, &s3.PutObjectInput{Bucket: new(bucket), Key: &key,
		Body: bytes.NewReader(body), Metadata: coordinator.Metadata(u)})
	if err != nil {
		// Nothing was accepted: the device keeps its edit.
		r.rec.write(history.Refused{T: history.KindRefused, Region: r.net.names[d.at], Home: r.net.names[d.home],
			User: d.user, Device: d.name, Path: d.path, At: time.Now(),
			Reason: fmt.Sprintf("home region %s unreachable: %v", r.net.names[d.home], err)})
		r.refused.Add(1)
		return
	}
	rec.Staged = time.Now()
	if r.net.latency[d.at][d.home] > 0 {
		r.crossBytes.Add(a.Size)
	}
	r.await(ctx, d, &rec)
	rec.Done = time.Now()
	r.rec.write(rec)
}

// await polls the home region's result (one round trip each) until the
// upload is decided or the poll timeout passes.
func (r *run) await(ctx context.Context, d device, u *history.Upload) {
	deadline := time.Now().Add(r.pollTimeout)
	for {
		res, err := r.poll(ctx, d, u.ID)
		p := history.Poll{T: history.KindPoll, ID: u.ID, At: time.Now(), State: history.OutcomePending}
		switch {
		case err != nil:
			p.State, p.Error = history.OutcomeError, err.Error()
		case res.State != "":
			p.State, p.Version, p.Copy = history.Outcome(res.State), res.Version, res.Copy
		}
		r.rec.write(p)
		u.Polls++
		if p.State != history.OutcomePending && p.State != history.OutcomeError {
			u.Outcome, u.Version, u.Copy, u.Reason = p.State, res.Version, res.Copy, res.Reason
			return
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			u.Outcome = history.OutcomeUnknown
			return
		}
		select {
		case <-ctx.Done():
		case <-time.After(r.pollInterval):
		}
	}
}

// poll is one result query from the device's region to the home region:
// the round trip, then the home coordinator's stored result.
func (r *run) poll(ctx context.Context, d device, id string) (coordinator.Result, error) {
	if err := r.net.wait(ctx, d.at, d.home); err != nil {
		return coordinator.Result{}, err
	}
	if err := r.net.reachable(d.at, d.home); err != nil {
		return coordinator.Result{}, err
	}
	res, ok, err := r.sites[d.home].coord.Result(ctx, d.user, id)
	if err == nil {
		err = r.net.wait(ctx, d.home, d.at)
	}
	if !ok {
		res.State = ""
	}
	return res, err
}

// read is a device downloading a file from the region it is connected to:
// it records what that region showed (the version its metadata names, the
// SHA-256 of the bytes it served, not the one its metadata claims) and
// returns the version (0 when absent or unreadable).
func (r *run) read(ctx context.Context, d device) int64 {
	v := history.View{T: history.KindView, Region: r.net.names[d.at], Home: r.net.names[d.home], Device: d.name,
		User: d.user, Path: d.path, HomeHead: r.rec.head(d.user, d.path), Start: time.Now()}
	meta, sum, _, err := getObject(ctx, r.clients[d.at][d.at], coordinator.FinalKey(d.user, d.path))
	var nsk *types.NoSuchKey
	switch {
	case errors.As(err, &nsk):
	case err != nil:
		return 0 // the region's storage is down: nothing was shown
	default:
		v.Version, _ = strconv.ParseInt(meta[coordinator.MetaVersion], 10, 64)
		v.SHA256 = sum
	}
	v.At = time.Now()
	r.rec.write(v)
	return v.Version
}

// content is size bytes drawn from seed.
func content(seed uint64, size int64) []byte {
	b := make([]byte, size)
	rng := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), byte(seed >> 16), byte(seed >> 24),
		byte(seed >> 32), byte(seed >> 40), byte(seed >> 48), byte(seed >> 56)})
	_, _ = rng.Read(b)
	return b
}
