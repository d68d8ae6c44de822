package regions

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/stormsim/stormsim/region"
	"github.com/stormsim/stormsim/sim/history"
)

// subscriptions listen for replication notifications in every region, as
// the devices connected there would.
type subscriptions struct {
	subs []*redis.PubSub
	done sync.WaitGroup
}

// subscribe listens on every region's notification channels. Each
// notification is recorded, then up to regions.reads devices of its user
// connected to that region read the file there.
func (r *run) subscribe(ctx context.Context) (*subscriptions, error) {
	s := &subscriptions{}
	for i, site := range r.sites {
		ps := site.rdb.PSubscribe(ctx, region.NotifyPattern(""))
		if _, err := ps.Receive(ctx); err != nil {
			s.stop()
			return nil, fmt.Errorf("subscribe in %s: %w", site.name, err)
		}
		s.subs = append(s.subs, ps)
		s.done.Add(1)
		go func() {
			defer s.done.Done()
			for m := range ps.Channel() {
				r.notified(ctx, i, m.Payload)
			}
		}()
	}
	return s, nil
}

func (s *subscriptions) stop() {
	for _, ps := range s.subs {
		_ = ps.Close()
	}
	s.done.Wait()
}

// notified handles one notification received in region i.
func (r *run) notified(ctx context.Context, i int, payload string) {
	var n region.Notification
	if err := json.Unmarshal([]byte(payload), &n); err != nil {
		return
	}
	r.rec.write(history.Notify{T: history.KindNotify, Region: r.net.names[i], User: n.User, Path: n.Path,
		Version: n.Version, At: time.Now()})
	var user int
	if _, err := fmt.Sscanf(strings.TrimPrefix(n.User, "u"), "%d", &user); err != nil || user >= len(r.home) {
		return
	}
	first := 0
	for j := range i {
		first += r.sc.Regions.List[j].Devices
	}
	for d := first; d < first+min(r.sc.Regions.Reads, r.sc.Regions.List[i].Devices); d++ {
		r.read(ctx, device{user: n.User, name: fmt.Sprintf("u%05d-d%02d", user, d), path: n.Path, at: i, home: r.home[user]})
	}
}
