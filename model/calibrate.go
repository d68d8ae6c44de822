package model

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/stormsim/stormsim/coordinator"
	"github.com/stormsim/stormsim/internal/inproc"
	"github.com/stormsim/stormsim/scenarios"
)

// Calibration sizes: small uploads time the calls, large ones the
// transfer rates.
const (
	calSmall = 1 << 10
	calLarge = 256 << 10
)

// Calibrate measures, one call at a time on an otherwise idle backend,
// the latency of every call the coordinator's handler makes (timed
// through the same recording store and Redis hook as Record), a device's
// staging PUT, result query and push path, the transfer rates, each Redis
// node's service time (from its throughput with 32 clients), and the
// machine the harness runs on (cpu.go: its cores, the share of the timed
// calls' latency that was this process's CPU time, how late timers
// fire). n is the number of uploads timed per outcome. The profile's
// handler is the queue kind (the harness's); a profile for another
// platform sets its own.
func Calibrate(ctx context.Context, b *Backends, n int, date time.Time) (*Profile, error) {
	rec, err := newRecorder(ctx, b.S3, b.Redis)
	if err != nil {
		return nil, err
	}
	run := fmt.Sprintf("cal%d", date.UnixNano())
	c, err := coordinator.New(coordinator.Config{Bucket: b.Bucket, Prefix: run + ":", ObjectPrefix: run + "/", Now: time.Now}, rec, b.Redis)
	if err != nil {
		return nil, fmt.Errorf("calibrate: %w", err)
	}
	var put [2][]time.Duration // staging PUT, small and large
	handle := func(id, path string, size int, large int) error {
		d, err := stageAndHandle(ctx, b, c, id, path, size)
		put[large] = append(put[large], d)
		return err
	}
	rec.timed = map[Call][]time.Duration{}
	for i := range n {
		path := fmt.Sprintf("f%d.txt", i)
		if err := handle(fmt.Sprintf("w%d", i), path, calSmall, 0); err != nil {
			return nil, err
		}
		if err := handle(fmt.Sprintf("l%d", i), path, calSmall, 0); err != nil { // head is 1: a conflict
			return nil, err
		}
	}
	small := rec.timed
	timed := summed(put[0]) // the calls' latency per upload, one at a time
	for _, ds := range small {
		timed += summed(ds)
	}
	timed /= time.Duration(2 * n)
	rec.timed = map[Call][]time.Duration{}
	for i := range max(n/4, 8) {
		if err := handle(fmt.Sprintf("big%d", i), fmt.Sprintf("big%d.bin", i), calLarge, 1); err != nil {
			return nil, err
		}
	}
	large := rec.timed
	rec.timed = nil
	p := &Profile{Name: b.Name, Date: date.UTC().Format("2006-01-02"),
		Source:  fmt.Sprintf("measured by simrun calibrate on %s backends, %d uploads per outcome, one call at a time", b.Name, n),
		Handler: Handler{Kind: "queue", RetryDelays: []float64{0.2, 0.4}}}
	for _, call := range sortedCalls(small) {
		p.Ops = append(p.Ops, Op{Op: string(call), Dist: fit(small[call])})
	}
	p.S3ReadBytesPerSecond = rate(small["s3.get"], large["s3.get"])
	p.S3CopyBytesPerSecond = rate(small["s3.copy"], large["s3.copy"])
	p.Device.Put = fit(put[0])
	if bw := rate(put[0], put[1]); bw > 0 {
		p.Device.Bandwidth = scenarios.Dist{Kind: "fixed", Value: round3(bw)}
	}
	if p.Device.Poll, err = timePolls(ctx, c, n); err != nil {
		return nil, err
	}
	if p.Device.Push, err = timePush(ctx, b.Redis, n); err != nil {
		return nil, err
	}
	perUpload, err := cpuPerUpload(ctx, b, c, 300*time.Millisecond)
	if err != nil {
		return nil, err
	}
	if p.CPU, err = calibrateCPU(ctx, perUpload, timed, n); err != nil {
		return nil, err
	}
	p.Source += fmt.Sprintf("; %d cores, %s CPU per upload with 32 clients at once, %s of calls per upload one at a time",
		p.CPU.Cores, perUpload.Round(time.Microsecond), timed.Round(time.Microsecond))
	p.Redis = Redis{Shards: 1}
	if p.Redis.Service, err = serviceTime(ctx, b, false); err != nil {
		return nil, err
	}
	if p.Redis.ScriptService, err = serviceTime(ctx, b, true); err != nil {
		return nil, err
	}
	return p, p.validate()
}

// timePolls times the result API (the coordinator's handler, in
// process) answering for decided uploads.
func timePolls(ctx context.Context, c *coordinator.Coordinator, n int) (scenarios.Dist, error) {
	tokens := coordinator.Tokens{Secret: []byte("calibrate")}
	tr := &inproc.Transport{}
	defer tr.Close()
	tr.Handle("api.model.invalid", c.API(tokens))
	hc := &http.Client{Transport: tr}
	var ds []time.Duration
	for i := range n {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("http://api.model.invalid/v1/uploads/w%d", i), nil)
		if err != nil {
			return scenarios.Dist{}, err
		}
		req.Header.Set("Authorization", "Bearer "+tokens.Token("cal"))
		began := time.Now()
		resp, err := hc.Do(req)
		if err != nil {
			return scenarios.Dist{}, fmt.Errorf("calibrate: poll: %w", err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return scenarios.Dist{}, fmt.Errorf("calibrate: poll: HTTP %d", resp.StatusCode)
		}
		ds = append(ds, time.Since(began))
	}
	return fit(ds), nil
}

// serviceTime is the time per command (or per lock script) at the
// throughput 32 clients reach in 300ms.
func serviceTime(ctx context.Context, b *Backends, script bool) (float64, error) {
	src, _ := coordinator.ScriptSource(coordinator.ScriptRelease)
	const clients, window = 32, 300 * time.Millisecond
	var mu sync.Mutex
	var ops int64
	var firstErr error
	stop := time.Now().Add(window)
	var wg sync.WaitGroup
	for w := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var k int64
			for ; time.Now().Before(stop); k++ {
				var err error
				if script {
					err = b.Redis.Eval(ctx, src, []string{fmt.Sprintf("cal:svc:%d", w)}, "token").Err()
				} else {
					err = b.Redis.Get(ctx, fmt.Sprintf("cal:svc:%d", w)).Err()
				}
				if err != nil && err.Error() != "redis: nil" {
					mu.Lock()
					firstErr = err
					mu.Unlock()
					return
				}
			}
			mu.Lock()
			ops += k
			mu.Unlock()
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return 0, fmt.Errorf("calibrate: redis throughput: %w", firstErr)
	}
	if ops == 0 {
		return 0, fmt.Errorf("calibrate: redis throughput: no command finished in %s", window)
	}
	return round3(window.Seconds() / float64(ops)), nil
}

// fit is the measured distribution itself: a mix of uniform segments
// between its deciles, then p90-p95, p95-p99 and p99-max, weighted by
// the share of calls in each, so a sample follows the measured quantiles
// (tail included) instead of a curve fitted through two of them.
func fit(ds []time.Duration) scenarios.Dist {
	if len(ds) == 0 {
		return scenarios.Dist{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	q := func(f float64) float64 { return round3(s[min(int(f*float64(len(s)-1)+0.5), len(s)-1)].Seconds()) }
	cuts := []float64{0, .1, .2, .3, .4, .5, .6, .7, .8, .9, .95, .99, 1}
	d := scenarios.Dist{Kind: "mix"}
	for i := 1; i < len(cuts); i++ {
		lo, hi := q(cuts[i-1]), q(cuts[i])
		d.Mix = append(d.Mix, scenarios.WeightedDist{Weight: round3(100 * (cuts[i] - cuts[i-1])),
			Dist: scenarios.Dist{Kind: "uniform", Min: lo, Max: hi}})
	}
	return d
}

// stageAndHandle stages size bytes as upload id of path (base 0), as a
// device does, and runs the coordinator's handler on its S3 event; it
// returns how long the staging PUT took.
func stageAndHandle(ctx context.Context, b *Backends, c *coordinator.Coordinator, id, path string, size int) (time.Duration, error) {
	body := bytes.Repeat([]byte{'x'}, size)
	sum := sha256.Sum256(body)
	u := coordinator.Upload{ID: id, User: "cal", Path: path, Device: "dev", SHA256: hex.EncodeToString(sum[:])}
	key := c.StagingKey(u.User, u.ID)
	began := time.Now()
	if err := b.devices().StageAt(ctx, key, u, body); err != nil {
		return 0, fmt.Errorf("calibrate: stage %s: %w", id, err)
	}
	d := time.Since(began)
	if err := c.HandleKey(ctx, key); err != nil {
		return d, fmt.Errorf("calibrate: handle %s: %w", id, err)
	}
	return d, nil
}

func summed(ds []time.Duration) time.Duration {
	var t time.Duration
	for _, d := range ds {
		t += d
	}
	return t
}

// median of the measured calls, in seconds.
func median(ds []time.Duration) float64 {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2].Seconds()
}

// rate is bytes per second from the medians at the two sizes (0 when the
// large size took no longer: free at this resolution).
func rate(small, large []time.Duration) float64 {
	if len(small) == 0 || len(large) == 0 {
		return 0
	}
	d := median(large) - median(small)
	if d <= 0 {
		return 0
	}
	return round3(float64(calLarge-calSmall) / d)
}

func sortedCalls(m map[Call][]time.Duration) []Call {
	var out []Call
	for c := range m {
		out = append(out, c)
	}
	slices.Sort(out)
	return out
}

// round3 keeps three significant digits.
func round3(x float64) float64 {
	// Decimal rounding: monotonic, so a segment's min never exceeds its
	// max (scaling by a power of ten printed 1e-05 as 9.999999999999999e-06
	// beside a 1e-05).
	r, _ := strconv.ParseFloat(strconv.FormatFloat(x, 'g', 3, 64), 64)
	return r
}
