package traffic

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/stormsim/stormsim/coordinator"
	"github.com/stormsim/stormsim/internal/syncx"
	"github.com/stormsim/stormsim/sim/history"
	"github.com/stormsim/stormsim/sim/workload"
)

// open launches the planned arrivals at their instants (open model)
// and waits for every upload to end or ctx to stop the arrivals.
func (dev *Devices) open(ctx, uctx context.Context, plan *workload.Plan, start time.Time) (int64, time.Duration) {
	sem := make(chan struct{}, dev.MaxInFlight)
	var wg sync.WaitGroup
	var launched int64
	var last time.Duration
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	names := newNamer(dev.Seed, dev.Scenario)
	chain := newDeviceChain(dev.Scenario)
loop:
	for {
		a, ok := plan.Next()
		if !ok {
			break
		}
		if !dev.Shard.Owns(a.User) {
			continue
		}
		last = a.At
		if d := time.Until(start.Add(a.At)); d > 0 {
			timer.Reset(d)
			select {
			case <-ctx.Done():
				break loop
			case <-timer.C:
			}
		}
		// The clock is read only when no slot is free: a wait for one is
		// the system's backlog, not the harness's launch lag.
		var slotWait time.Duration
		select {
		case sem <- struct{}{}:
		default:
			waited := time.Now()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				break loop
			}
			slotWait = time.Since(waited)
		}
		arr := names.arrival(a, start)
		arr.slotWait = slotWait
		done := chain.link(&arr, a)
		launched++
		wg.Add(1)
		// The goroutine stages the upload and returns; the upload ends,
		// and gives its slot back, when its outcome is known (waiter).
		go dev.upload(uctx, arr, func() {
			if done != nil {
				close(done)
			}
			<-sem
			wg.Done()
		})
	}
	wg.Wait()
	return launched, last
}

// closed runs each closed-model device in a loop: upload, learn
// the outcome, think, until its iterations, the duration or the upload cap
// end it.
func (dev *Devices) closed(ctx, uctx context.Context, plan *workload.Plan, start time.Time) (int64, time.Duration) {
	var launched atomic.Int64
	var wg sync.WaitGroup
	names := newNamer(dev.Seed, dev.Scenario)
	for d := range dev.Scenario.Closed.Devices {
		if u, _ := workload.ClosedDevice(dev.Scenario, d); !dev.Shard.Owns(u) {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				a, ok := plan.NextFor(d)
				if !ok {
					return
				}
				syncx.Sleep(ctx, a.At)
				if ctx.Err() != nil || dev.Scenario.Duration > 0 && time.Since(start) >= dev.Scenario.Duration {
					return
				}
				if n := launched.Add(1); dev.Scenario.Uploads > 0 && n > dev.Scenario.Uploads {
					launched.Add(-1)
					return
				}
				a.At = time.Since(start) // closed model: the intended instant is now
				ended := make(chan struct{})
				dev.upload(uctx, names.arrival(a, start), func() { close(ended) })
				<-ended
			}
		}()
	}
	wg.Wait()
	return launched.Load(), time.Since(start)
}

// upload is one device's upload: stage the content, then learn the outcome
// by push or by polling the result API. It never returns an error: a failed
// request under load is a result to record. It returns once the content
// is staged; the wait for the outcome runs on timers (waiter), and end is
// called when the upload has ended.
func (dev *Devices) upload(ctx context.Context, a arrival, end func()) {
	w := &waiter{dev: dev, ctx: ctx, end: end, fileIndex: a.fileIndex}
	u := &w.u
	*u = history.Upload{T: history.KindUpload, ID: a.id, User: a.user, Device: a.device, Path: a.path,
		Size: a.size, Intended: a.intended, Phase: a.phase}
	if a.after != nil {
		// A follow-on edit: the device first learns the outcome of its
		// previous upload of this file. The wait counts in the latency
		// (from the planned instant) but is not launch lag.
		select {
		case <-a.after:
		case <-ctx.Done():
		}
		u.Ready = dev.Now()
	}
	head := dev.heads.get(a.fileIndex)
	u.Base = max(head-int64(a.stale), 0)
	c := content{seed: a.contentSeed, size: a.size}
	var body []byte // the content in memory, when small enough for one PUT
	if a.size <= maxBuffered && a.size < dev.cfg.multipartThreshold {
		body, u.SHA256 = c.bytes()
	} else {
		u.SHA256 = c.sha256()
	}

	if dev.cfg.push {
		dev.Push.wait(u.ID, w)
	}
	u.Start = dev.Now()
	// The harness's own launch lag: the generator's timer, this goroutine's
	// start and the hashing above, not a wait for an in-flight slot nor a
	// follow-on edit's wait for its previous outcome.
	from := a.intended.Add(a.slotWait)
	if u.Ready.After(from) {
		from = u.Ready
	}
	dev.Sink.Started(u.Start, u.Start.Sub(from))
	meta := coordinator.Metadata(coordinator.Upload{ID: u.ID, User: u.User, Path: u.Path, Base: u.Base,
		Device: u.Device, SHA256: u.SHA256})
	key := dev.Coord.StagingKey(u.User, u.ID)
	if dev.Staging != nil {
		dev.Staging(u.ID, u.Phase)
	}
	if dev.Hostile != nil {
		if w.hostile = dev.Hostile(); w.hostile != "" {
			makeHostile(meta, w.hostile)
		}
	}
	var err error
	if a.size >= dev.cfg.multipartThreshold {
		u.Parts, err = dev.stageMultipart(ctx, key, meta, c)
	} else {
		err = dev.stagePut(ctx, key, meta, c, body)
	}
	u.Staged = dev.Now()
	if err != nil {
		if dev.cfg.push {
			dev.Push.forget(u.ID)
		}
		u.Outcome, u.Error, u.Done = history.OutcomeError, err.Error(), u.Staged
		kind := "stage"
		if ctx.Err() != nil {
			// The harness stopped the run (a signal, or abort_on_fail's
			// grace over): the device never learned whether its bytes
			// were staged, which says nothing about the system.
			u.Outcome, u.Error, kind = history.OutcomeUnknown, stoppedError(err), "stopped"
		}
		dev.Sink.Finished(u, time.Time{}, kind)
		end()
		return
	}
	w.await()
}

// stoppedError is an upload's error when the harness stopped the run
// under it.
func stoppedError(err error) string { return "stopped by the harness: " + err.Error() }

// makeHostile turns an upload's staging metadata into hostile input of
// one variant (hostileVariants); the coordinator must reject each.
func makeHostile(meta map[string]string, variant string) {
	p, _ := url.PathUnescape(meta[coordinator.MetaPath])
	switch variant {
	case "path-traversal":
		meta[coordinator.MetaPath] = url.PathEscape("../../" + p)
	case "absolute-path":
		meta[coordinator.MetaPath] = url.PathEscape("/" + p)
	case "control-character":
		meta[coordinator.MetaPath] = url.PathEscape(p + "\r\n")
	case "oversized-path":
		meta[coordinator.MetaPath] = strings.Repeat("a", coordinator.MaxPathBytes+100)
	case "too-much-metadata":
		for i := range 40 {
			meta[fmt.Sprintf("pad-%02d", i)] = "x"
		}
	case "missing-metadata":
		delete(meta, coordinator.MetaBase)
	case "other-user":
		meta[coordinator.MetaUser] = "mallory"
	case "sha256-mismatch":
		meta[coordinator.MetaSHA256] = strings.Repeat("0", 64)
	}
}

// stagePut uploads with a presigned URL and a plain HTTP PUT, as mobile
// clients do. The body is body when not nil, else c streamed.
func (dev *Devices) stagePut(ctx context.Context, key string, meta map[string]string, c content, body []byte) error {
	signed, header, err := dev.presign(ctx, key, meta)
	if err != nil {
		return fmt.Errorf("presign: %w", err)
	}
	for attempt := 0; ; attempt++ {
		var r io.Reader
		if body != nil {
			r = bytes.NewReader(body)
		} else {
			r = c.reader()
		}
		hr, err := http.NewRequestWithContext(ctx, http.MethodPut, signed, r)
		if err != nil {
			return fmt.Errorf("staging put: %w", err)
		}
		hr.ContentLength = c.size
		// Attempts are sequential and nothing on the way modifies a
		// request's headers, so each attempt sends the same map.
		hr.Header = header
		resp, err := dev.Env.HTTP.Do(hr)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode/100 == 2 {
				return nil
			}
			err = fmt.Errorf("staging put: HTTP %d", resp.StatusCode)
			if resp.StatusCode/100 == 4 {
				return err
			}
		}
		if attempt >= 2 || ctx.Err() != nil {
			return err
		}
		syncx.Sleep(ctx, time.Duration(50<<attempt)*time.Millisecond)
	}
}

// presign signs the staging PUT of key: by the hand-built presigner where
// it covers the endpoint (presign.go), else by the SDK. It returns the URL
// and the headers to send with it.
func (dev *Devices) presign(ctx context.Context, key string, meta map[string]string) (string, http.Header, error) {
	dev.presignOnce.Do(func() { dev.presigner = newPresigner(dev.Env.DeviceS3, dev.Env.Bucket) })
	if p := dev.presigner; p != nil {
		h := make(http.Header, len(meta)+1)
		u, err := p.put(ctx, key, meta, h)
		return u, h, err
	}
	req, err := dev.Env.Presign.PresignPutObject(ctx, &s3.PutObjectInput{Bucket: &dev.Env.Bucket, Key: &key, Metadata: meta})
	if err != nil {
		return "", nil, err
	}
	h := make(http.Header, len(req.SignedHeader))
	for k, vs := range req.SignedHeader {
		if k != "Host" {
			h[k] = vs
		}
	}
	return req.URL, h, nil
}

// stageMultipart uploads in parts through the SDK; only one part is held in
// memory at a time.
func (dev *Devices) stageMultipart(ctx context.Context, key string, meta map[string]string, c content) (int, error) {
	select {
	case dev.multipart <- struct{}{}:
		defer func() { <-dev.multipart }()
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	out, err := dev.Env.DeviceS3.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &dev.Env.Bucket, Key: &key, Metadata: meta})
	if err != nil {
		return 0, fmt.Errorf("create multipart upload: %w", err)
	}
	abort := func() {
		_, _ = dev.Env.DeviceS3.AbortMultipartUpload(context.WithoutCancel(ctx), &s3.AbortMultipartUploadInput{Bucket: &dev.Env.Bucket, Key: &key, UploadId: out.UploadId})
	}
	src := c.reader()
	buf := make([]byte, dev.cfg.partSize)
	var parts []types.CompletedPart
	for n := int32(1); ; n++ {
		k, rerr := io.ReadFull(src, buf)
		if k == 0 {
			break
		}
		p, err := dev.Env.DeviceS3.UploadPart(ctx, &s3.UploadPartInput{Bucket: &dev.Env.Bucket, Key: &key, UploadId: out.UploadId,
			PartNumber: aws.Int32(n), Body: bytes.NewReader(buf[:k]), ContentLength: aws.Int64(int64(k))})
		if err != nil {
			abort()
			return len(parts), fmt.Errorf("upload part %d: %w", n, err)
		}
		parts = append(parts, types.CompletedPart{ETag: p.ETag, PartNumber: aws.Int32(n)})
		if rerr != nil {
			break
		}
	}
	_, err = dev.Env.DeviceS3.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: &dev.Env.Bucket, Key: &key,
		UploadId: out.UploadId, MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}})
	if err != nil {
		abort()
		return len(parts), fmt.Errorf("complete multipart upload: %w", err)
	}
	return len(parts), nil
}

// Stage is a device's path up to the staged object and nothing else
// (benchmarks): generate size bytes of content from seed, hash them,
// presign and PUT them over plain HTTP under upload id of user u1.
func (dev *Devices) Stage(ctx context.Context, id string, size int64, seed uint64) error {
	c := content{seed: seed, size: size}
	u := coordinator.Upload{ID: id, User: "u1", Path: "f.txt", Device: "d"}
	var body []byte
	if size <= maxBuffered {
		body, u.SHA256 = c.bytes()
	} else {
		u.SHA256 = c.sha256()
	}
	return dev.stagePut(ctx, coordinator.StagingKey(u.User, u.ID), coordinator.Metadata(u), c, body)
}

// StageAt is a device's staging PUT of body under key with upload u's
// metadata, presigned and sent over plain HTTP as in a run (the model's
// calibration times it).
func (dev *Devices) StageAt(ctx context.Context, key string, u coordinator.Upload, body []byte) error {
	return dev.stagePut(ctx, key, coordinator.Metadata(u), content{size: int64(len(body))}, body)
}
