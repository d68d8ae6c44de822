package model

import "github.com/stormsim/stormsim/scenarios"

// The replicator (package region) in virtual time. A committed version's
// key written at home emits an S3 event into the home region's
// replication queue (regions.replication.concurrency workers, FIFO); the
// queue faults in force may delay it or deliver it twice. A worker reads
// the version's metadata at home (HEAD), then, for each other region in
// list order: HEAD the target's final key across the network; skip when
// it holds this version or a newer one; else GET the version at home and
// PUT it to the target, conditional on what the HEAD read (a 412, another
// copy wrote first, reads again); then publish a notification on the
// target's Redis, whose devices read the file. Every request to another
// region waits the one-way latency there and back, as sim/regions'
// network does.

// replQueue is one home region's replication queue.
type replQueue struct {
	busy    int
	waiting ring // jobs waiting for a worker
}

// replJob is one replication event being handled.
type replJob struct {
	start         int64
	file, version int32
	cas           uint32 // the target's writes when its HEAD was served
	home, target  uint8
	step          uint8
}

// Steps of a job (evReplStep).
const (
	stHead uint8 = iota // the HEAD reaches the target
	stPut               // the PUT reaches the target
	stDone              // every target is done: the worker is free
)

// notice is a notification on its way to a region's devices.
type notice struct {
	file   int32
	region uint8
}

// versionKept: upload up's version key was written at t, which emits its
// replication event (once per upload).
func (g *regional) versionKept(m *machine, t int64, up int32) {
	u := m.ups.at(up)
	if u.replicated || u.outcome != ocCommitted {
		return
	}
	u.replicated = true
	// The queue faults as sim/regions draws them (faults.go, queueFate):
	// each fault window open at t, with its probability, delays the event
	// or delivers it twice, the copy up to latency later.
	var delay, dup int64
	twice := false
	for _, f := range g.rg.Faults {
		if t < int64(f.Start) || t >= int64(f.End) || g.fate.Float64() >= f.Probability {
			continue
		}
		switch f.Kind {
		case scenarios.RegionFaultQueueDelay:
			delay += int64(f.Latency)
		case scenarios.RegionFaultQueueDup:
			twice, dup = true, g.fate.Int64N(int64(f.Latency)+1)
		}
	}
	g.emit(m, t+delay, u.file, u.version)
	if twice {
		g.meas.dups++
		g.emit(m, t+delay+dup, u.file, u.version)
	}
}

func (g *regional) emit(m *machine, at int64, f, v int32) {
	j := g.jobs.alloc()
	*g.jobs.at(j) = replJob{file: f, version: v, home: g.fileHome[f]}
	m.q.push(at, evReplicate, j)
}

// queued: job j reaches its home's queue at now.
func (g *regional) queued(m *machine, now int64, j int32) {
	q := &g.queues[g.jobs.at(j).home]
	if q.busy >= g.workers {
		q.waiting.push(int64(j))
		return
	}
	q.busy++
	g.start(m, now, j)
}

// start runs job j on a worker from now: the HEAD of the version key at
// home, then the first target.
func (g *regional) start(m *machine, now int64, j int32) {
	job := g.jobs.at(j)
	job.start = now
	g.meas.invocations++
	m.c.s3[opHead]++
	g.toTarget(m, now+g.head(g.r), j, g.nextTarget(job.home, -1))
}

// nextTarget is the first region after region after that is not home (n:
// none).
func (g *regional) nextTarget(home uint8, after int) int {
	for t := after + 1; t < g.n; t++ {
		if t != int(home) {
			return t
		}
	}
	return g.n
}

// toTarget sends job j's HEAD to region tg at t, or ends the job.
func (g *regional) toTarget(m *machine, t int64, j int32, tg int) {
	job := g.jobs.at(j)
	if tg >= g.n {
		job.step = stDone
		m.q.push(t, evReplStep, j)
		return
	}
	job.target, job.step = uint8(tg), stHead
	m.q.push(t+g.lat[job.home][tg], evReplStep, j)
}

// step is job j's next step, due at now.
func (g *regional) step(m *machine, now int64, j int32) {
	job := g.jobs.at(j)
	f, tg, home := job.file, job.target, job.home
	there, back := g.lat[home][tg], g.lat[tg][home]
	switch job.step {
	case stHead:
		m.c.s3[opHead]++
		job.cas = g.writes[tg][f]
		answered := now + g.head(g.r) + back
		if g.held[tg][f] >= job.version {
			g.meas.pair(home, tg).skipped++
			g.toTarget(m, answered, j, g.nextTarget(home, int(tg)))
			return
		}
		// GET at home, its body streamed into the PUT to the target
		m.c.s3[opGet]++
		t := answered + g.get(g.r) + g.transfer(g.sizes[f][job.version-1])
		job.step = stPut
		m.q.push(t+there+g.put(g.r), evReplStep, j)
	case stPut:
		m.c.s3[opPut]++
		if g.writes[tg][f] != job.cas {
			// 412: another copy wrote first; the answer comes back and
			// the HEAD goes out again
			job.step = stHead
			m.q.push(now+back+there, evReplStep, j)
			return
		}
		g.held[tg][f], g.writes[tg][f] = job.version, g.writes[tg][f]+1
		at := now + back
		size := g.sizes[f][job.version-1]
		g.meas.applied(home, tg, g.commits[f][job.version-1], at, size)
		// The publisher waits the latency to the target and publishes on
		// its Redis; the next target waits for that.
		published := at + there + g.publish(g.r)
		k := g.notices.alloc()
		*g.notices.at(k) = notice{file: f, region: tg}
		m.q.push(published, evNotify, k)
		g.toTarget(m, published, j, g.nextTarget(home, int(tg)))
	case stDone:
		q := &g.queues[home]
		g.meas.busyNs += now - job.start
		g.jobs.release(j)
		if q.waiting.len() > 0 {
			g.start(m, now, int32(q.waiting.popFront()))
			return
		}
		q.busy--
	}
}

// transfer is how long size bytes take to stream from home to a target.
func (g *regional) transfer(size int64) int64 {
	if g.readBW <= 0 {
		return 0
	}
	return int64(float64(size) / g.readBW * 1e9)
}

// notified: a notification reaches its region at now; up to
// regions.reads devices of the user connected there read the file.
func (g *regional) notified(m *machine, now int64, k int32) {
	n := *g.notices.at(k)
	g.notices.release(k)
	g.meas.notifications[n.region]++
	for range g.reads[n.region] {
		m.c.s3[opHead]++
		g.view(now, n.region, n.file, m.files[n.file].head)
	}
}
