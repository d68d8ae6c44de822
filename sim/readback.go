package sim

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/redis/go-redis/v9"

	"github.com/stormsim/stormsim/coordinator"
	"github.com/stormsim/stormsim/internal/syncx"
	"github.com/stormsim/stormsim/sim/history"
	"github.com/stormsim/stormsim/sim/usage"
)

// readBack records the state after the drain: every touched file as S3
// and the coordinator see it, every conflicted copy, the stored result of
// every answered upload (readBackStored), anything left over (staged
// objects, locks, multipart uploads), and each user's usage: the bytes
// listed in S3 beside the coordinator's meter and usage stream
// (sim/usage).
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
	syncx.Parallel(ctx, len(files), 32, func(i int) {
		f := files[i]
		fin := history.Final{T: history.KindFinal, User: f.user, Path: f.path}
		fin.Head, _ = r.coord.HeadVersion(ctx, f.user, f.path)
		meta, sum, err := r.readObject(ctx, r.coord.FinalKey(f.user, f.path))
		if err == nil {
			fmt.Sscan(meta[coordinator.MetaVersion], &fin.Version)
			fin.SHA256 = sum
		}
		r.emit.Record(fin)
	})
	r.readBackStored(ctx)
	r.leftovers(ctx)
	if m := r.opt.Mutant; m != nil && m.WrapHandler != nil {
		// A replaced handler (the self-test's naive one) meters nothing:
		// its run reads no usage back and has no billing check, so the
		// protocol mutants are judged by the invariants they break.
		return
	}
	users := make([]string, len(files))
	for i, f := range files {
		users[i] = f.user
	}
	err := usage.ReadBack(ctx, usage.Config{Coordinator: r.coord, S3: r.env.S3, Redis: r.env.Redis, Users: users,
		Owns: r.ownsUser, KeepsVersions: r.coord.Strategy() == coordinator.StrategyRedisLock, At: r.now()},
		r.hist.Write)
	if err != nil {
		r.rec.ErrorKind("readback")
	}
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

// Read-back sizing: GETs per pipeline, pipelines in flight, conflicted
// copies read at once.
const (
	resultBatch   = 256
	resultWorkers = 4
	copyWorkers   = 32
)

// answered is an upload whose device was told an outcome: the two strings
// the lookup needs, nothing else.
type answered struct{ user, id string }

// readBackStored reads back, after the drain, in one pass over the
// history: every conflicted copy a conflict record names (the checker
// compares S3's bytes with the loser's declared SHA-256), and the stored
// result of every upload whose device got an answer, one result record
// each, so the checker's stability invariant sees a result that changed
// after its device stopped polling.
//
// The records come from the run's own history file, streamed from disk up
// to where it ended when the read-back began: the run keeps no list of
// uploads or conflicts, and memory stays at a few batches however long the
// run. The file holds only this process's uploads, so a shard reads back
// only the users it owns. Result lookups are pipelined GETs of the
// coordinator's result keys (each user's keys share one hash tag, and
// go-redis splits a pipeline by slot on a cluster), on the run's Redis
// client: embedded or real.
func (r *runner) readBackStored(ctx context.Context) {
	ttl := int64(r.resultTTL() / time.Second)
	batches := make(chan []answered, resultWorkers)
	copies := make(chan history.Copy, 64)
	var wg sync.WaitGroup
	for range resultWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range batches {
				r.lookUpResults(ctx, b, ttl)
			}
		}()
	}
	for range copyWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range copies {
				_, sum, err := r.readObject(ctx, c.Key)
				c.Found, c.SHA256 = err == nil, sum
				r.emit.Record(c)
			}
		}()
	}
	var rec struct {
		ID      string          `json:"id"`
		User    string          `json:"user"`
		Outcome history.Outcome `json:"outcome"`
		Copy    string          `json:"copy"`
	}
	batch := make([]answered, 0, resultBatch)
	err := r.scanHistory(func(kind string, line []byte) error {
		if kind != history.KindUpload && kind != history.KindConflict {
			return nil
		}
		rec.Outcome, rec.Copy = "", ""
		if err := json.Unmarshal(line, &rec); err != nil {
			return err
		}
		if ctx.Err() != nil {
			return nil
		}
		if kind == history.KindConflict {
			copies <- history.Copy{T: history.KindCopy, ID: rec.ID, Key: rec.Copy}
			return nil
		}
		switch rec.Outcome {
		case history.OutcomeCommitted, history.OutcomeConflict, history.OutcomeRejected:
		default:
			return nil // no answer: nothing-dropped's concern
		}
		batch = append(batch, answered{user: rec.User, id: rec.ID})
		if len(batch) == resultBatch {
			batches <- batch
			batch = make([]answered, 0, resultBatch)
		}
		return nil
	})
	if len(batch) > 0 {
		batches <- batch
	}
	close(batches)
	close(copies)
	wg.Wait()
	if err != nil {
		r.emit.Error("readback")
	}
}

// lookUpResults reads the stored results of one batch in one pipeline and
// writes their records.
func (r *runner) lookUpResults(ctx context.Context, batch []answered, ttl int64) {
	pipe := r.env.Redis.Pipeline()
	cmds := make([]*redis.StringCmd, len(batch))
	for i, a := range batch {
		cmds[i] = pipe.Get(ctx, r.coord.KeysFor(a.user, "", a.id).Result)
	}
	_, _ = pipe.Exec(ctx) // each command carries its own error; redis.Nil is one
	at := r.now()
	failed := false
	for i, a := range batch {
		rec := history.Result{T: history.KindResult, ID: a.id, User: a.user, At: at, TTLSeconds: ttl}
		doc, err := cmds[i].Bytes()
		switch {
		case errors.Is(err, redis.Nil):
		case err != nil:
			rec.Error = fmt.Sprintf("read result: %v", err)
			failed = true
		default:
			rec.Found = true
			var res coordinator.Result
			if err := json.Unmarshal(doc, &res); err != nil {
				rec.Error = fmt.Sprintf("decode result: %v", err)
				break
			}
			rec.State, rec.Version, rec.Copy = history.Outcome(res.State), res.Version, res.Copy
		}
		r.emit.Record(rec)
	}
	if failed {
		r.emit.Error("readback")
	}
}

// resultTTL is how long a result is sure to stay stored after its
// decision: the coordinator's result TTL in whole seconds (it is set with
// EX), less every jump of the embedded Redis clock the scenario injects
// (a jump ages every key at once) and the longest step the embedded clock
// was advanced by (a key set during a step is charged the whole step),
// and at least a second (0 would read as "never expires").
func (r *runner) resultTTL() time.Duration {
	var jumps, step time.Duration
	if r.env.MR != nil {
		if r.faults != nil {
			jumps = r.faults.ClockJumps()
		}
		step = r.env.MaxClockStep()
	}
	return resultTTL(r.coord.Config().ResultTTL, jumps, step)
}

func resultTTL(ttl, jumps, step time.Duration) time.Duration {
	return max(ttl.Truncate(time.Second)-jumps-step, time.Second)
}

// scanHistory streams the run's history file as it stands now (flushed;
// records written while it scans lie past its end and are not read), so
// the read-back needs no in-memory list of uploads or conflicts however
// long the run.
func (r *runner) scanHistory(fn func(kind string, line []byte) error) error {
	if err := r.hist.Flush(); err != nil {
		return err
	}
	// Run creates the history here.
	f, err := os.Open(filepath.Join(r.opt.OutDir, "history.jsonl"))
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	return history.Scan(io.LimitReader(f, st.Size()), fn)
}
