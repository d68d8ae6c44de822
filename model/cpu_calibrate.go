package model

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/errgroup"

	"github.com/stormsim/stormsim/coordinator"
	"github.com/stormsim/stormsim/scenarios"
)

// processCPU is this process's CPU time so far (user and system).
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cpuPerUpload is this process's CPU time per upload while 32 clients
// stage and handle uploads at once for window (each a winner, then a
// conflicting upload of the same file, as Calibrate's loop): the cores
// stay busy, so the figure is what an upload costs them under load, not
// the scheduler's spinning between one call and the next of a lone
// client.
func cpuPerUpload(ctx context.Context, b *Backends, c *coordinator.Coordinator, window time.Duration) (time.Duration, error) {
	const clients = 32
	g, gctx := errgroup.WithContext(ctx)
	var done [clients]int
	began := processCPU()
	stop := time.Now().Add(window)
	for w := range clients {
		g.Go(func() error {
			for i := 0; time.Now().Before(stop); i++ {
				path := fmt.Sprintf("cpu%d-%d.txt", w, i)
				for _, id := range []string{fmt.Sprintf("cw%d-%d", w, i), fmt.Sprintf("cl%d-%d", w, i)} {
					if _, err := stageAndHandle(gctx, b, c, id, path, calSmall); err != nil {
						return err
					}
					done[w]++
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return 0, err
	}
	spent, n := processCPU()-began, 0
	for _, d := range done {
		n += d
	}
	if n == 0 || spent <= 0 {
		return 0, fmt.Errorf("calibrate: cpu: no upload handled in %s", window)
	}
	return spent / time.Duration(n), nil
}

// calibrateCPU fills the profile's cpu section: the cores the process
// runs on; the busy share, an upload's CPU time under load (cpuPerUpload)
// over its calls' latency one at a time (timed); and how late a timer
// fires on this machine (n sleeps of 0.1 to 5 ms, one at a time).
func calibrateCPU(ctx context.Context, perUpload, timed time.Duration, n int) (CPU, error) {
	c := CPU{Cores: runtime.GOMAXPROCS(0)}
	if perUpload <= 0 || timed <= 0 {
		return c, fmt.Errorf("calibrate: cpu: no CPU time or no latency measured")
	}
	c.BusyShare = round3(perUpload.Seconds() / timed.Seconds())
	r := rand.New(rand.NewPCG(uint64(n), 0xc0))
	ds := make([]time.Duration, 0, n)
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for range n {
		d := time.Duration(100+r.IntN(4900)) * time.Microsecond
		began := time.Now()
		t.Reset(d)
		select {
		case <-t.C:
		case <-ctx.Done():
			return c, fmt.Errorf("calibrate: timers: %w", ctx.Err())
		}
		ds = append(ds, max(time.Since(began)-d, 0))
	}
	c.Wake = fit(ds)
	return c, nil
}

// timePush times the push's path as the harness's push hub receives it:
// a PUBLISH on a user's channel until a pattern subscription (go-redis,
// as the hub's) hands it over, n times one at a time.
func timePush(ctx context.Context, rdb redis.UniversalClient, n int) (scenarios.Dist, error) {
	ps := rdb.PSubscribe(ctx, "cal:push:*")
	defer ps.Close()
	if _, err := ps.Receive(ctx); err != nil {
		return scenarios.Dist{}, fmt.Errorf("calibrate: push: subscribe: %w", err)
	}
	ch := ps.Channel()
	payload := `{"id":"cal","user":"cal","state":"committed","version":1}`
	ds := make([]time.Duration, 0, n)
	timeout := time.NewTimer(time.Hour)
	defer timeout.Stop()
	for range n {
		began := time.Now()
		if err := rdb.Publish(ctx, "cal:push:cal", payload).Err(); err != nil {
			return scenarios.Dist{}, fmt.Errorf("calibrate: push: publish: %w", err)
		}
		timeout.Reset(5 * time.Second)
		select {
		case <-ch:
		case <-timeout.C:
			return scenarios.Dist{}, fmt.Errorf("calibrate: push: no message within 5s of its PUBLISH")
		case <-ctx.Done():
			return scenarios.Dist{}, fmt.Errorf("calibrate: push: %w", ctx.Err())
		}
		ds = append(ds, time.Since(began))
	}
	return fit(ds), nil
}
