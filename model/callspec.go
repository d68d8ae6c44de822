package model

import (
	"math/rand/v2"
	"strings"
)

// callOp is what the model does with a call beyond waiting for it.
type callOp uint8

const (
	opOther callOp = iota
	opGet
	opCopy
	opDelete
	opHead
	opPut
	opCreateMultipart
	opUploadPart
	opCompleteMultipart
	opCommit  // the commit script: head := head + 1
	opResult  // the result script: the decision is readable, the lock freed
	opRelease // the release script: the lock freed
	opCount
)

// s3OpNames are the S3 operation names sim counts (report's cost model
// prices them by tier).
var s3OpNames = [opCount]string{opOther: "OTHER", opGet: "GET", opCopy: "COPY", opDelete: "DELETE", opHead: "HEAD",
	opPut: "PUT", opCreateMultipart: "CREATE_MULTIPART", opUploadPart: "UPLOAD_PART", opCompleteMultipart: "COMPLETE_MULTIPART"}

// callSpec is a recorded call compiled once: no map or string work per
// call in the event loop.
type callSpec struct {
	name          Call
	redis, script bool
	op            callOp
	lat           func(*rand.Rand) int64
	cpu           int64 // CPU nanoseconds on the setup's machine (cpu.go; 0 without)
}

func newCallSpec(c Call, p *Profile) callSpec {
	s := callSpec{name: c, lat: sampler(p.op(string(c))), cpu: p.callCPU(string(c))}
	s.redis = strings.HasPrefix(string(c), "redis.")
	s.script = strings.HasPrefix(string(c), "redis.script.")
	switch c {
	case "s3.get":
		s.op = opGet
	case "s3.copy":
		s.op = opCopy
	case "s3.delete":
		s.op = opDelete
	case "s3.head":
		s.op = opHead
	case "s3.put":
		s.op = opPut
	case "redis.script.commit":
		s.op = opCommit
	case "redis.script.result":
		s.op = opResult
	case "redis.script.release":
		s.op = opRelease
	}
	return s
}

// s3Counts are the S3 requests by operation name, as sim counts them.
func (c *counters) s3Counts() map[string]int64 {
	out := map[string]int64{}
	for op, n := range c.s3 {
		if n > 0 && s3OpNames[op] != "" {
			out[s3OpNames[op]] = n
		}
	}
	return out
}
