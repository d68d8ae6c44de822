package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/stormsim/stormsim/coordinator"
	"github.com/stormsim/stormsim/sim/history"
)

// upload is one device's upload: stage the content, then learn the outcome
// by push or by polling the result API. It never returns an error: a failed
// request under load is a result to record.
func (r *runner) upload(ctx context.Context, a arrival) {
	u := history.Upload{T: history.KindUpload, ID: a.id, User: a.user, Device: a.device, Path: a.path,
		Size: a.size, Intended: a.intended, Phase: a.phase}
	if a.after != nil {
		// A follow-on edit: the device first learns the outcome of its
		// previous upload of this file. The wait counts in the latency
		// (from the planned instant) but is not launch lag.
		select {
		case <-a.after:
		case <-ctx.Done():
		}
		u.Ready = r.now()
	}
	head := r.heads.get(a.fileIndex)
	u.Base = max(head-int64(a.stale), 0)
	c := content{seed: a.contentSeed, size: a.size}
	u.SHA256 = c.sha256()

	var pushCh <-chan coordinator.Result
	if r.cfg.push {
		pushCh = r.push.wait(u.ID)
		defer r.push.forget(u.ID)
	}
	u.Start = r.now()
	// The harness's own launch lag: the generator's timer, this goroutine's
	// start and the hashing above, not a wait for an in-flight slot nor a
	// follow-on edit's wait for its previous outcome.
	from := a.intended.Add(a.slotWait)
	if u.Ready.After(from) {
		from = u.Ready
	}
	r.sat.launch.add(u.Start.Sub(from))
	r.rec.started(u.Start)
	r.prom.UploadStarted()
	meta := coordinator.Metadata(coordinator.Upload{ID: u.ID, User: u.User, Path: u.Path, Base: u.Base,
		Device: u.Device, SHA256: u.SHA256})
	key := r.coord.StagingKey(u.User, u.ID)
	hostile := ""
	if f := r.env.faults; f != nil {
		if hostile = f.hostile(); hostile != "" {
			makeHostile(meta, hostile)
		}
	}
	var err error
	if a.size >= r.cfg.multipartThreshold {
		u.Parts, err = r.stageMultipart(ctx, key, meta, c)
	} else {
		err = r.stagePut(ctx, key, meta, c)
	}
	u.Staged = r.now()
	if err != nil {
		u.Outcome, u.Error, u.Done = history.OutcomeError, err.Error(), u.Staged
		r.finish(&u, time.Time{}, "stage")
		return
	}
	res, decided := r.await(ctx, &u, pushCh)
	u.Done = r.now()
	switch res.State {
	case coordinator.StateCommitted:
		u.Outcome, u.Version = history.OutcomeCommitted, res.Version
		r.heads.learn(a.fileIndex, res.Version)
	case coordinator.StateConflict:
		u.Outcome, u.Copy = history.OutcomeConflict, res.Copy
		r.heads.learn(a.fileIndex, res.Head)
	case coordinator.StateRejected:
		u.Outcome, u.Reason = history.OutcomeRejected, res.Reason
	default:
		u.Outcome = history.OutcomeUnknown
	}
	if !decided.IsZero() {
		r.est.observe(decided.Sub(u.Staged))
	}
	kind := ""
	if u.Outcome == history.OutcomeUnknown {
		kind = "timeout"
	}
	if hostile != "" && (u.Outcome == history.OutcomeCommitted || u.Outcome == history.OutcomeConflict) {
		// The coordinator took input it must refuse. The device records a
		// failure, which the nothing-dropped invariant reports.
		u.Error = fmt.Sprintf("hostile upload (%s) was accepted: %s", hostile, u.Outcome)
		u.Outcome, kind = history.OutcomeError, "hostile-accepted"
	}
	r.finish(&u, decided, kind)
}

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

func (r *runner) finish(u *history.Upload, decided time.Time, errKind string) {
	if err := r.hist.Write(u); err != nil {
		r.rec.errorKind("history")
	}
	r.rec.finished(u, decided, errKind)
	r.prom.ObserveUpload(string(u.Outcome), u.Done.Sub(u.Intended), u.Polls)
	r.prom.AddUploadBytes(u.Size)
}

// stagePut uploads with a presigned URL and a plain HTTP PUT, as mobile
// clients do.
func (r *runner) stagePut(ctx context.Context, key string, meta map[string]string, c content) error {
	req, err := r.env.Presign.PresignPutObject(ctx, &s3.PutObjectInput{Bucket: &r.env.Bucket, Key: &key, Metadata: meta})
	if err != nil {
		return fmt.Errorf("presign: %w", err)
	}
	for attempt := 0; ; attempt++ {
		hr, err := http.NewRequestWithContext(ctx, http.MethodPut, req.URL, c.reader())
		if err != nil {
			return fmt.Errorf("staging put: %w", err)
		}
		hr.ContentLength = c.size
		for k, vs := range req.SignedHeader {
			if k == "Host" {
				continue
			}
			for _, v := range vs {
				hr.Header.Add(k, v)
			}
		}
		resp, err := r.env.HTTP.Do(hr)
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
		sleepCtx(ctx, time.Duration(50<<attempt)*time.Millisecond)
	}
}

// stageMultipart uploads in parts through the SDK; only one part is held in
// memory at a time.
func (r *runner) stageMultipart(ctx context.Context, key string, meta map[string]string, c content) (int, error) {
	select {
	case r.multipart <- struct{}{}:
		defer func() { <-r.multipart }()
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	out, err := r.env.DeviceS3.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &r.env.Bucket, Key: &key, Metadata: meta})
	if err != nil {
		return 0, fmt.Errorf("create multipart upload: %w", err)
	}
	abort := func() {
		_, _ = r.env.DeviceS3.AbortMultipartUpload(context.WithoutCancel(ctx), &s3.AbortMultipartUploadInput{Bucket: &r.env.Bucket, Key: &key, UploadId: out.UploadId})
	}
	src := c.reader()
	buf := make([]byte, r.cfg.partSize)
	var parts []types.CompletedPart
	for n := int32(1); ; n++ {
		k, rerr := io.ReadFull(src, buf)
		if k == 0 {
			break
		}
		p, err := r.env.DeviceS3.UploadPart(ctx, &s3.UploadPartInput{Bucket: &r.env.Bucket, Key: &key, UploadId: out.UploadId,
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
	_, err = r.env.DeviceS3.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: &r.env.Bucket, Key: &key,
		UploadId: out.UploadId, MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}})
	if err != nil {
		abort()
		return len(parts), fmt.Errorf("complete multipart upload: %w", err)
	}
	return len(parts), nil
}

// await learns the outcome: the push if it comes first, otherwise polls on
// the configured schedule. decided is when the server decided (zero when
// the outcome stayed unknown).
func (r *runner) await(ctx context.Context, u *history.Upload, pushCh <-chan coordinator.Result) (coordinator.Result, time.Time) {
	deadline := time.NewTimer(r.cfg.pollTimeout)
	defer deadline.Stop()
	delay := r.cfg.firstDelay
	if r.cfg.autoFirst {
		delay = r.est.firstPoll(u.Size)
	}
	interval := r.cfg.pollInterval
	t := time.NewTimer(delay)
	defer t.Stop()
	due := r.now().Add(delay) // when t should fire: its lateness is the harness's
	for {
		select {
		case res := <-pushCh:
			u.Push = true
			return res, res.DecidedAt
		case <-t.C:
			r.sat.timer.add(r.now().Sub(due))
			res, err := r.poll(ctx, u)
			u.Polls++
			if err == nil && res.State != coordinator.StatePending {
				return res, res.DecidedAt
			}
			if r.cfg.maxPolls > 0 && u.Polls >= r.cfg.maxPolls {
				if pushCh == nil {
					return coordinator.Result{}, time.Time{}
				}
				continue // out of polls: wait for the push until the timeout
			}
			wait := interval
			now := r.now()
			if r.cfg.autoFirst && err == nil {
				age := now.Sub(u.Staged)
				r.est.pending(age)
				wait = min(r.est.nextPoll(age, interval), r.cfg.maxInterval)
			}
			t.Reset(wait)
			due = now.Add(wait)
			interval = min(time.Duration(float64(interval)*r.cfg.backoff), r.cfg.maxInterval)
		case <-deadline.C:
			return coordinator.Result{}, time.Time{}
		case <-ctx.Done():
			return coordinator.Result{}, time.Time{}
		}
	}
}

// poll asks the result API once and records the answer.
func (r *runner) poll(ctx context.Context, u *history.Upload) (coordinator.Result, error) {
	var res coordinator.Result
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.apiURL+"/v1/uploads/"+u.ID, nil)
	if err == nil {
		req.Header.Set("Authorization", "Bearer "+r.tokens.Token(u.User))
		var resp *http.Response
		resp, err = r.env.HTTP.Do(req)
		if err == nil {
			if resp.StatusCode == http.StatusOK {
				err = json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&res)
			} else {
				// The API's own words ("no such upload") name the cause.
				var body struct {
					Error string `json:"error"`
				}
				_ = json.NewDecoder(io.LimitReader(resp.Body, 1<<10)).Decode(&body)
				err = fmt.Errorf("result API: HTTP %d %s", resp.StatusCode, body.Error)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}
	p := history.Poll{T: history.KindPoll, ID: u.ID, At: r.now(), State: history.Outcome(res.State), Version: res.Version, Copy: res.Copy}
	if err != nil {
		p.State, p.Error = "error", err.Error()
		r.rec.errorCause("poll", errorCause(err))
	}
	_ = r.hist.Write(p)
	return res, err
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
