package sim

import (
	"context"
	"encoding/json"
	"sync"

	"github.com/aws/aws-lambda-go/events"

	"github.com/stormsim/stormsim/coordinator"
	"github.com/stormsim/stormsim/sim/history"
)

// recoverWorkers read decisions back from the deployment's Redis at once.
const recoverWorkers = 16

// recoverDecisions records, after the drain of a run against a deployment
// (Options.ResultAPI), the decision the deployment stored for each upload
// of the run: its coordinator reports to nobody, but Redis holds what it
// decided (the result and, for a commit, its fence), which is how
// --external recovers the decisions of a killed coordinator process. An
// upload with no stored result was not decided, as far as the run can
// tell. The uploads come from the run's own history file, streamed.
func (r *runner) recoverDecisions(ctx context.Context) {
	recs := make(chan events.S3EventRecord, recoverWorkers)
	var wg sync.WaitGroup
	var mu sync.Mutex
	failed := false
	for range recoverWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for rec := range recs {
				d, ok, err := r.coord.Recorded(ctx, rec)
				if err != nil {
					mu.Lock()
					failed = true
					mu.Unlock()
					continue
				}
				if ok {
					r.obs.Decided(d)
				}
			}
		}()
	}
	var up struct {
		ID   string `json:"id"`
		User string `json:"user"`
	}
	err := r.scanHistory(func(kind string, line []byte) error {
		if kind != history.KindUpload || ctx.Err() != nil {
			return nil
		}
		if err := json.Unmarshal(line, &up); err != nil {
			return err
		}
		var rec events.S3EventRecord
		rec.EventName = "ObjectCreated:Put"
		rec.S3.Bucket.Name = r.env.Bucket
		rec.S3.Object.Key = r.opt.ObjectPrefix + coordinator.StagingKey(up.User, up.ID)
		recs <- rec
		return nil
	})
	close(recs)
	wg.Wait()
	if err != nil || failed {
		r.emit.Error("readback")
	}
}
