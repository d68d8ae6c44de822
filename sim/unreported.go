package sim

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/stormsim/stormsim/coordinator"
	"github.com/stormsim/stormsim/sim/delivery"
	"github.com/stormsim/stormsim/sim/history"
)

// unreported finds decisions the coordinator made durable but never
// reported. A handler whose commit script ran but whose reply was lost (a
// client timeout while the embedded Redis was slow) fails without telling
// the observer; its retry finds the commit record and finishes the work
// as a retry after a commit, which reports nothing new. The history would
// then lack a commit the system made, and the checker would blame the
// system for the harness's blind spot. So an invocation that failed
// without any decision reported for its upload makes the upload a
// suspect, and after the drain each suspect's decision is read back from
// Redis (Coordinator.Recorded, as --external does for a killed process)
// and reported, unless a decision of that upload was reported since.
//
// Only failed invocations are tracked, so memory follows the failures,
// not the uploads.
type unreported struct {
	active   map[string]*watch               // upload id -> its invocations in progress
	suspects map[string]events.S3EventRecord // upload id -> its event
}

// watch is one upload's invocations in progress.
type watch struct {
	n        int  // invocations in progress
	reported bool // a decision was reported while they ran
}

// wrap returns h with the bookkeeping around each invocation.
func (o *observer) wrap(h delivery.Handler) delivery.Handler {
	return func(ctx context.Context, ev events.S3Event) error {
		ids := o.begin(ev)
		err := h(ctx, ev)
		o.end(ids, err != nil)
		return err
	}
}

// invocation is one upload of an invocation's event.
type invocation struct {
	id  string
	rec events.S3EventRecord
}

func (o *observer) begin(ev events.S3Event) []invocation {
	ids := make([]invocation, 0, len(ev.Records))
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, rec := range ev.Records {
		id, ok := o.uploadOf(rec)
		if !ok {
			continue
		}
		ids = append(ids, invocation{id, rec})
		w := o.un.active[id]
		if w == nil {
			w = &watch{}
			o.un.active[id] = w
		}
		w.n++
	}
	return ids
}

func (o *observer) end(ids []invocation, failed bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, inv := range ids {
		w := o.un.active[inv.id]
		if failed && !w.reported {
			o.un.suspects[inv.id] = inv.rec
		}
		if w.n--; w.n == 0 {
			delete(o.un.active, inv.id)
		}
	}
}

// reportedLocked notes a decision reported for upload id (o.mu held).
func (o *observer) reportedLocked(id string) {
	if w := o.un.active[id]; w != nil {
		w.reported = true
	}
	delete(o.un.suspects, id)
}

// recoverUnreported reports the decisions Redis holds for the suspects
// that the history has no decision of; call it once no handler runs. A
// suspect's decision may have been reported before its failed invocation
// began (a duplicate event that failed after another had decided), so the
// history is scanned for them, only when there are suspects at all.
func (r *runner) recoverUnreported(ctx context.Context) error {
	o := r.obs
	o.mu.Lock()
	suspects := maps.Clone(o.un.suspects)
	o.mu.Unlock()
	if len(suspects) == 0 {
		return nil
	}
	var rec struct {
		ID string `json:"id"`
	}
	err := r.scanHistory(func(kind string, line []byte) error {
		if kind != history.KindCommit && kind != history.KindConflict && kind != history.KindReject {
			return nil
		}
		if err := json.Unmarshal(line, &rec); err != nil {
			return err
		}
		delete(suspects, rec.ID)
		return nil
	})
	if err != nil {
		return fmt.Errorf("recover unreported decisions: %w", err)
	}
	for _, id := range slices.Sorted(maps.Keys(suspects)) { // the history's order is the seed's
		d, ok, err := r.coord.Recorded(ctx, suspects[id])
		if err != nil {
			return fmt.Errorf("recover unreported decisions: %w", err)
		}
		if ok {
			o.Decided(d)
		}
	}
	return nil
}

// uploadOf is the upload id a staging event names.
func (o *observer) uploadOf(rec events.S3EventRecord) (string, bool) {
	key, err := url.QueryUnescape(rec.S3.Object.Key)
	if err != nil {
		key = rec.S3.Object.Key
	}
	rest, ok := strings.CutPrefix(key, o.prefix)
	if !ok {
		return "", false
	}
	_, id, err := coordinator.ParseStagingKey(rest)
	return id, err == nil
}
