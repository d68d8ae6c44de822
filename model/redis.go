package model

// redisServer is Redis as a server with finite throughput: Shards nodes,
// keys spread over them by file, each running one command at a time
// (Service seconds; ScriptService for a script) in arrival order. A call
// waits for its node to be free; its client-observed latency on an idle
// node comes from the profile's ops, so the wait is the only addition.
type redisServer struct {
	free            []int64 // when each node is next free
	shards          int
	home            []uint8 // regions: each file's home region, whose nodes serve it (nil: one region)
	service, script int64
	calls           int64
	waited          int64 // nanoseconds spent waiting, over all calls
	busy            []int64
}

func newRedisServer(p *Profile) *redisServer {
	return &redisServer{free: make([]int64, p.Redis.Shards), busy: make([]int64, p.Redis.Shards), shards: p.Redis.Shards,
		service: secondsNs(p.Redis.Service), script: secondsNs(p.Redis.ScriptService)}
}

// perRegion gives every one of regions regions its own nodes, serving the
// files homed there (home: each file's region).
func (s *redisServer) perRegion(regions int, home []uint8) {
	s.free, s.busy, s.home = make([]int64, s.shards*regions), make([]int64, s.shards*regions), home
}

// wait books a call (a script or not) on the node of file at now and returns how long it
// queues there. Calls reach it in time order (the event loop's), so the
// FIFO is exact.
func (s *redisServer) wait(now int64, file int32, script bool) int64 {
	n := int(uint32(file) % uint32(len(s.free)))
	if s.home != nil {
		n = int(uint32(file)%uint32(s.shards)) + int(s.home[file])*s.shards
	}
	svc := s.service
	if script {
		svc = s.script
	}
	start := max(now, s.free[n])
	s.free[n] = start + svc
	s.busy[n] += svc
	s.calls++
	s.waited += start - now
	return start - now
}

// utilization is the busiest node's busy share over elapsed nanoseconds.
func (s *redisServer) utilization(elapsed int64) float64 {
	if elapsed <= 0 {
		return 0
	}
	var top int64
	for _, b := range s.busy {
		top = max(top, b)
	}
	return float64(top) / float64(elapsed)
}
