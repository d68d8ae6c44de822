package sim

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/redis/go-redis/v9"

	"github.com/stormsim/stormsim/coordinator"
	"github.com/stormsim/stormsim/internal/objstore"
	"github.com/stormsim/stormsim/sim/history"
	"github.com/stormsim/stormsim/sim/metrics"
)

// start brings up the environment, the coordinator, its event delivery,
// the result API and the push subscription.
func (r *runner) start(ctx context.Context) error {
	r.obs = &observer{hist: r.hist, files: map[fileKey]struct{}{}, prom: r.prom}
	r.metrics = &runMetrics{prom: r.prom}
	var faults *faultSet
	if len(r.sc.Faults) > 0 {
		faults = newFaultSet(r.sc.Faults, r.opt.Seed, r.now, r.hist)
	}
	env := r.opt.Env
	if env == nil {
		var err error
		env, err = NewEmbedded(EmbeddedOptions{
			Now:    r.now,
			Notify: func(key string, size int64) { r.delivery.Emit(r.env.Bucket, key, size, r.now()) },
			Wrap: func(h http.Handler) http.Handler {
				// Injected errors never reach S3: they are not counted.
				h = countS3(h, &r.metrics.s3)
				h = timeS3(h, &r.sat.s3)
				if faults != nil {
					h = faults.wrapS3(h)
				}
				return h
			},
		})
		if err != nil {
			return err
		}
	}
	r.env = env
	env.faults = faults
	if k := r.sc.Storage.KeepVersions; k > 0 {
		if env.Backend == nil {
			return fmt.Errorf("storage.keep_versions %d: bounds the embedded S3 only", k)
		}
		env.Backend.SetLifecycle(objstore.Lifecycle{Prefix: r.opt.ObjectPrefix + coordinator.VersionPrefix, Keep: k})
	}
	if env.OnStaged != nil {
		// Events come from the storage server (a webhook), not the wrapper.
		env.OnStaged(func(key string, size int64) { r.delivery.Emit(env.Bucket, key, size, r.now()) })
	}
	r.metrics.s3.feed(r.prom)
	if env.s3Count != nil {
		// Real servers: the Remote counts S3 requests; the live metrics
		// should see them too.
		env.s3Count.feed(r.prom)
	}
	env.Redis.AddHook(redisCounter{&r.metrics.redis, r.prom})
	if r.opt.Env == nil && r.opt.External == nil {
		// The embedded Redis's command times, for the saturation figures
		// (an external coordinator's blocking stream reads would skew them).
		env.Redis.AddHook(redisTimer{&r.sat.redis})
	}
	r.tokens = coordinator.Tokens{Secret: []byte(fmt.Sprintf("stormsim-%d", r.opt.Seed))}
	prefix := r.opt.KeyPrefix
	if prefix == "" {
		prefix = "stormsim:"
	}
	cfg := coordinator.Config{Bucket: env.Bucket, Strategy: r.sc.Coordinator.Strategy, Prefix: prefix,
		ObjectPrefix: r.opt.ObjectPrefix, LockTTL: r.sc.Coordinator.LockTTL, ResultTTL: r.sc.Coordinator.ResultTTL,
		Now: r.now, Observer: r.obs}
	if m := r.opt.Mutant; m != nil && m.Hooks != nil {
		cfg.Hooks = m.Hooks
	}
	if faults != nil {
		if faults.has(FaultRedisLockExpiry, FaultRedisFenceRollback) {
			r.obs.mu.Lock()
			r.obs.leases = map[string]fileKey{}
			r.obs.mu.Unlock()
		}
		faults.lease = r.obs.leaseOf
		cfg.Hooks = faultHooks(cfg.Hooks, faults)
		if faults.has(FaultRedisLatency) {
			env.Redis.AddHook(redisHook{faults})
		}
	}
	// The coordinator retries S3 calls itself (on top of the SDK's own
	// retries), as it would in Lambda; Redis calls are retried by go-redis
	// (see embeddedRedisOptions).
	coord, err := coordinator.New(cfg, coordinator.NewRetryStore(env.S3, coordinator.RetryPolicy{}), env.Redis)
	if err != nil {
		return err
	}
	r.coord = coord
	var h Handler = coord.HandleEvent
	if m := r.opt.Mutant; m != nil && m.WrapHandler != nil {
		h = m.WrapHandler(h, env, coord)
	}
	if x := r.opt.External; x != nil {
		ext, err := newExternal(ctx, env.Redis, *x, r.obs)
		if err != nil {
			return err
		}
		h, r.stopExternal, r.external = ext.handle, ext.close, ext
	}
	d := r.sc.Delivery
	dc := DeliveryConfig{Workers: r.sc.Coordinator.Concurrency, QueueSize: d.QueueSize, Retries: r.sc.Coordinator.Retries,
		Duplicate: d.Duplicate, Reorder: d.Reorder, Seed: r.opt.Seed ^ 0xde11, OnResult: r.handlerResult,
		OnWait: r.sat.queue.add}
	if d.Delay.Kind != "" {
		dc.Delay = durationSampler(d.Delay)
	}
	r.delivery = NewDelivery(dc, h)
	if faults != nil {
		faults.attach(env, coord, r.opt.Env == nil)
		r.delivery.SetFate(faults.eventFate)
		r.delivery.SetDrain(r.beginDrain, r.drainSweep)
	}

	ln, err := coordinator.Listen("")
	if err != nil {
		return fmt.Errorf("listen for the result API: %w", err)
	}
	// The result API is its own service (API Gateway + Lambda in
	// production): a stateless coordinator on its own S3 connection pool,
	// so a storm of polls cannot take the handler's connections.
	apiCoord, err := coordinator.New(cfg, coordinator.NewRetryStore(env.APIS3, coordinator.RetryPolicy{Attempts: 2}), env.Redis)
	if err != nil {
		return err
	}
	api := apiCoord.API(r.tokens)
	srv := coordinator.NewServer(api)
	go func() { _ = srv.Serve(ln) }()
	r.apiURL = "http://" + ln.Addr().String()
	env.ServeInProcess(ln.Addr().String(), api) // the devices' polls skip loopback on embedded fakes
	r.stopAPI = func() { _ = srv.Close() }

	r.push, err = newPushHub(ctx, env.Redis, coord.PushPattern(), r.now, r.hist)
	if err != nil {
		return fmt.Errorf("subscribe to pushes: %w", err)
	}
	r.push.deliver = r.pushFilter(r.push.hand)
	if faults != nil {
		// Windows are relative to the run's start, which is now; the
		// reconciler sweeps for events that faults lost or killed.
		faults.begin(r.now())
		faults.startReconciler(r.delivery)
	}
	return nil
}

func (r *runner) stop() {
	if f := r.faultSet(); f != nil {
		f.close() // restarts Redis after an outage
	}
	if r.push != nil {
		r.push.close()
	}
	if r.stopAPI != nil {
		r.stopAPI()
	}
	if r.delivery != nil {
		r.delivery.Close()
	}
	if r.stopExternal != nil {
		r.stopExternal()
	}
	if r.opt.Env == nil && r.env != nil {
		r.env.Close()
	}
}

// faultSet is the run's fault injection, nil without faults.
func (r *runner) faultSet() *faultSet {
	if r.env == nil {
		return nil
	}
	return r.env.faults
}

// beginDrain lifts the faults when the drain begins (Delivery.SetDrain):
// it runs in the run's goroutine, after the recorder exists.
func (r *runner) beginDrain() {
	r.rec.setFaults(r.faultSet().lift(r.rec.start))
}

// drainSweep is the reconciler's sweep at the drain: every staged object,
// whatever its age.
func (r *runner) drainSweep(ctx context.Context) (int, error) {
	f := r.faultSet()
	n, err := f.reconcile(ctx, 0)
	r.rec.setReconciled(f.reconciled.Load())
	return n, err
}

// pushFilter applies push loss and delay between the channel and devices,
// and push outages.
func (r *runner) pushFilter(next func(coordinator.Result)) func(coordinator.Result) {
	loss, delayDist := r.sc.Wait.PushLoss, r.sc.Wait.PushDelay
	faults := r.faultSet()
	if faults != nil && !faults.has(FaultPushOutage) {
		faults = nil
	}
	if loss <= 0 && delayDist.Kind == "" && r.opt.Mutant == nil && faults == nil {
		return next
	}
	var mu sync.Mutex
	rng := newRand(r.opt.Seed, "push")
	sample := durationSampler(delayDist)
	return func(res coordinator.Result) {
		if m := r.opt.Mutant; m != nil && m.IgnorePush {
			return
		}
		if faults != nil && faults.pushLost() {
			return // devices fall back to polling
		}
		mu.Lock()
		lost := loss > 0 && rng.Float64() < loss
		var d time.Duration
		if delayDist.Kind != "" {
			d = sample(rng)
		}
		mu.Unlock()
		if lost {
			return
		}
		if d <= 0 {
			next(res)
			return
		}
		time.AfterFunc(d, func() { next(res) })
	}
}

type fileKey struct{ user, path string }

// observer records the coordinator's decisions into the history.
type observer struct {
	hist *history.Writer
	prom *metrics.Set

	mu        sync.Mutex // guards below
	files     map[fileKey]struct{}
	decisions map[string]int64
	// leases names the file of each upload that took a lock, for faults
	// that act on a handler's own lock (redis-lock-expiry); only kept when
	// such a fault is configured.
	leases map[string]fileKey
}

// Fenced records a fencing token as issued (coordinator.FenceObserver).
func (o *observer) Fenced(f coordinator.FenceIssued) {
	_ = o.hist.Write(history.Fence{T: history.KindFence, User: f.User, Path: f.Path, Fence: f.Fence, ID: f.UploadID, At: f.At})
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.leases != nil {
		o.leases[f.UploadID] = fileKey{f.User, f.Path}
	}
}

// leaseOf returns the file whose lock upload id took last.
func (o *observer) leaseOf(id string) (fileKey, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	k, ok := o.leases[id]
	return k, ok
}

func (o *observer) Decided(d coordinator.Decision) {
	switch d.State {
	case coordinator.StateCommitted:
		_ = o.hist.Write(history.Commit{T: history.KindCommit, ID: d.ID, User: d.User, Path: d.Path, Base: d.Base,
			Version: d.Version, SHA256: d.SHA256, Fence: d.Fence, At: d.DecidedAt})
	case coordinator.StateConflict:
		o.prom.Conflict()
		_ = o.hist.Write(history.Conflict{T: history.KindConflict, ID: d.ID, User: d.User, Path: d.Path, Base: d.Base,
			Head: d.Head, Copy: d.Copy, At: d.DecidedAt})
	case coordinator.StateRejected:
		_ = o.hist.Write(history.Reject{T: history.KindReject, ID: d.ID, User: d.User, Path: d.Path, Reason: d.Reason, At: d.DecidedAt})
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.decisions == nil {
		o.decisions = map[string]int64{}
	}
	o.decisions[d.State]++
	if d.State != coordinator.StateCommitted {
		delete(o.leases, d.ID) // decided for good; a commit may still copy
	}
	if d.State == coordinator.StateRejected {
		return
	}
	o.files[fileKey{d.User, d.Path}] = struct{}{}
}

func (o *observer) counts() map[string]int64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	m := map[string]int64{}
	for k, v := range o.decisions {
		m[k] = v
	}
	return m
}

// readBack records the state after the drain: every touched file as S3
// and the coordinator see it, every conflicted copy, the stored result of
// every answered upload (readBackStored), and anything left over (staged
// objects, locks, multipart uploads).
func (r *runner) readBack(ctx context.Context) {
	r.obs.mu.Lock()
	files := make([]fileKey, 0, len(r.obs.files))
	for f := range r.obs.files {
		files = append(files, f)
	}
	r.obs.mu.Unlock()
	sort.Slice(files, func(i, j int) bool {
		return files[i].user < files[j].user || files[i].user == files[j].user && files[i].path < files[j].path
	})
	parallel(ctx, len(files), 32, func(i int) {
		f := files[i]
		fin := history.Final{T: history.KindFinal, User: f.user, Path: f.path}
		fin.Head, _ = r.coord.HeadVersion(ctx, f.user, f.path)
		meta, sum, err := r.readObject(ctx, r.coord.FinalKey(f.user, f.path))
		if err == nil {
			fmt.Sscan(meta[coordinator.MetaVersion], &fin.Version)
			fin.SHA256 = sum
		}
		_ = r.hist.Write(fin)
	})
	r.readBackStored(ctx)
	r.leftovers(ctx)
}

func (r *runner) readObject(ctx context.Context, key string) (map[string]string, string, error) {
	out, err := r.env.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: &r.env.Bucket, Key: &key})
	if err != nil {
		return nil, "", err
	}
	defer out.Body.Close()
	h := sha256.New()
	if _, err := io.Copy(h, out.Body); err != nil {
		return nil, "", err
	}
	meta := map[string]string{}
	for k, v := range out.Metadata {
		meta[strings.ToLower(k)] = v
	}
	return meta, hex.EncodeToString(h.Sum(nil)), nil
}

// storedBytes sums what the run left in the bucket (final objects,
// versions, conflicted copies): the fakes hold it in memory, so it is
// reported apart from the harness's own memory.
func (r *runner) storedBytes(ctx context.Context) int64 {
	var n int64
	prefix := r.coord.Config().ObjectPrefix
	p := s3.NewListObjectsV2Paginator(r.env.S3, &s3.ListObjectsV2Input{Bucket: &r.env.Bucket, Prefix: &prefix})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return n
		}
		for _, o := range page.Contents {
			n += aws.ToInt64(o.Size)
		}
	}
	return n
}

func (r *runner) leftovers(ctx context.Context) {
	p := s3.NewListObjectsV2Paginator(r.env.S3, &s3.ListObjectsV2Input{Bucket: &r.env.Bucket, Prefix: aws.String(r.coord.StagingPrefix())})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			r.rec.errorKind("readback")
			break
		}
		for _, o := range page.Contents {
			if key := aws.ToString(o.Key); r.ownsStaged(key) {
				_ = r.hist.Write(history.Leftover{T: history.KindLeftover, Kind: history.LeftoverStaged, Key: key})
				r.writePending(key)
			}
		}
	}
	mp, err := r.env.S3.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: &r.env.Bucket, Prefix: aws.String(r.coord.StagingPrefix())})
	if err == nil {
		for _, u := range mp.Uploads {
			if !r.ownsStaged(aws.ToString(u.Key)) {
				continue
			}
			_ = r.hist.Write(history.Leftover{T: history.KindLeftover, Kind: history.LeftoverMultipart, Key: aws.ToString(u.Key)})
		}
	}
	iter := r.env.Redis.Scan(ctx, 0, r.coord.LockPattern(), 1000).Iterator()
	for iter.Next(ctx) {
		if r.ownsLock(iter.Val()) {
			_ = r.hist.Write(history.Leftover{T: history.KindLeftover, Kind: history.LeftoverLock, Key: iter.Val()})
		}
	}
}

// writePending records where the event of a staged object left after the
// drain was (Delivery.Abandoned); the checker counts it as pending when no
// decision names the upload. A key the delivery no longer holds lost its
// event (dropped, or dead-lettered beyond what Delivery remembers) and the
// reconciler did not find it.
func (r *runner) writePending(key string) {
	user, id, err := coordinator.ParseStagingKey(strings.TrimPrefix(key, r.coord.Config().ObjectPrefix))
	if err != nil {
		return
	}
	reason := r.abandoned[key]
	if reason == "" {
		reason = history.PendingLost
	}
	_ = r.hist.Write(history.Pending{T: history.KindPending, ID: id, User: user, Key: key, Reason: reason})
}

// timeS3 times each request inside the embedded S3 (saturation figures).
func timeS3(h http.Handler, t *syncHist) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		began := time.Now()
		h.ServeHTTP(w, req)
		t.add(time.Since(began))
	})
}

// parallel runs f(0..n-1) on at most width goroutines and waits.
func parallel(ctx context.Context, n, width int, f func(i int)) {
	var wg sync.WaitGroup
	next := atomic.Int64{}
	for range min(width, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				f(i)
			}
		}()
	}
	wg.Wait()
}

// runMetrics counts the operations the run made against S3 and Redis.
type runMetrics struct {
	s3    opCounter
	redis atomic.Int64
	prom  *metrics.Set
}

type opCounter struct {
	mu   sync.Mutex // guards below
	prom *metrics.Set
	n    map[string]int64
}

var s3OpNames = map[string]string{"PUT": metrics.OpPut, "COPY": metrics.OpCopy, "GET": metrics.OpGet,
	"HEAD": metrics.OpHead, "DELETE": metrics.OpDelete, "LIST": metrics.OpList,
	"CREATE_MULTIPART": metrics.OpCreateMultipart, "UPLOAD_PART": metrics.OpUploadPart,
	"COMPLETE_MULTIPART": metrics.OpCompleteMultipart}

func (c *opCounter) add(op string) {
	c.mu.Lock()
	if c.n == nil {
		c.n = map[string]int64{}
	}
	c.n[op]++
	prom := c.prom
	c.mu.Unlock()
	prom.S3Request(s3OpNames[op])
}

// feed makes the counter also count into prom (the run's metrics).
func (c *opCounter) feed(prom *metrics.Set) {
	c.mu.Lock()
	c.prom = prom
	c.mu.Unlock()
}

// OpCounts are S3 requests by operation and Redis commands.
type OpCounts struct {
	S3    map[string]int64
	Redis int64
}

func (r *runner) ops() OpCounts {
	s3 := &r.metrics.s3
	if r.env.s3Count != nil {
		s3 = r.env.s3Count // a Remote counts where the run cannot
	}
	return OpCounts{S3: s3.snapshot(), Redis: r.metrics.redis.Load()}
}

// countS3 classifies S3 requests by operation.
func countS3(h http.Handler, c *opCounter) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		op := s3Op(req)
		c.add(op)
		h.ServeHTTP(w, req)
	})
}

func s3Op(req *http.Request) string {
	q := req.URL.Query()
	switch req.Method {
	case http.MethodPut:
		switch {
		case req.Header.Get("X-Amz-Copy-Source") != "":
			return "COPY"
		case q.Has("partNumber"):
			return "UPLOAD_PART"
		}
		return "PUT"
	case http.MethodPost:
		if q.Has("uploads") {
			return "CREATE_MULTIPART"
		}
		if q.Has("uploadId") {
			return "COMPLETE_MULTIPART"
		}
		return "POST"
	case http.MethodGet:
		if strings.Count(strings.Trim(req.URL.Path, "/"), "/") == 0 {
			return "LIST"
		}
		return "GET"
	case http.MethodHead:
		return "HEAD"
	case http.MethodDelete:
		return "DELETE"
	}
	return req.Method
}

// redisCounter counts Redis commands (a pipeline counts each command).
type redisCounter struct {
	n    *atomic.Int64
	prom *metrics.Set
}

func (c redisCounter) DialHook(next redis.DialHook) redis.DialHook { return next }
func (c redisCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.n.Add(1)
		c.prom.RedisCall(1)
		return next(ctx, cmd)
	}
}
func (c redisCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		c.n.Add(int64(len(cmds)))
		c.prom.RedisCall(len(cmds))
		return next(ctx, cmds)
	}
}

// HarnessUse is the harness process's own resource use.
type HarnessUse struct {
	CPUSeconds  float64
	Utilization float64 // of all cores
	MaxRSS      int64
}

// procStart is when this process started measuring itself.
var procStart = time.Now()

func measureHarness(elapsed time.Duration) HarnessUse {
	elapsed = max(elapsed, time.Since(procStart))
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return HarnessUse{}
	}
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	h := HarnessUse{CPUSeconds: cpu.Seconds(), MaxRSS: ru.Maxrss * 1024}
	if elapsed > 0 {
		h.Utilization = cpu.Seconds() / elapsed.Seconds() / float64(numCPU())
	}
	return h
}

func (d *Delivery) counts() DeliveryCounts {
	s := &d.stats
	return DeliveryCounts{Emitted: s.Emitted.Load(), Duplicated: s.Duplicated.Load(), Reordered: s.Reordered.Load(),
		Dropped: s.Dropped.Load(), Invocations: s.Invocations.Load(), Failures: s.Failures.Load(),
		Retries: s.Retries.Load(), Dead: s.Dead.Load()}
}

// handlerResult counts one handler invocation by how it ended.
func (r *runner) handlerResult(err error, willRetry bool, took time.Duration) {
	r.handlerNanos.Add(int64(took))
	switch {
	case err == nil:
		r.prom.HandlerInvoked(metrics.HandlerOK)
	case errors.Is(err, coordinator.ErrCrash):
		r.prom.HandlerInvoked(metrics.HandlerCrash)
	case willRetry:
		r.prom.HandlerInvoked(metrics.HandlerRetry)
	default:
		r.prom.HandlerInvoked(metrics.HandlerError)
	}
}

// ownsStaged reports whether a staging key belongs to this shard's users
// (other shards sharing the servers may still have uploads in flight).
func (r *runner) ownsStaged(key string) bool {
	user, _, err := coordinator.ParseStagingKey(strings.TrimPrefix(key, r.coord.Config().ObjectPrefix))
	return err != nil || r.ownsUser(user)
}

// ownsLock does the same for a lock key ("PREFIX{user}:lock:...").
func (r *runner) ownsLock(key string) bool {
	i, j := strings.Index(key, "{"), strings.Index(key, "}")
	return i < 0 || j < i || r.ownsUser(key[i+1:j])
}

func (r *runner) ownsUser(user string) bool {
	var u int
	if _, err := fmt.Sscanf(user, "u%d", &u); err != nil {
		return true
	}
	return r.opt.Shard.owns(u)
}
