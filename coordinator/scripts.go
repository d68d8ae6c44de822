package coordinator

import "github.com/redis/go-redis/v9"

// Script names, for Hooks.Script and ScriptSource. Every guard of the
// redis-lock strategy that lives in Redis is in one of these scripts:
//
//   - ScriptLock: exclusive acquire (SET NX) and the fencing token (INCR);
//   - ScriptCommit: the fence check ('stale') and the base re-check
//     ('moved') at commit;
//   - ScriptResult: the set-once result (SET NX) and the holder check of
//     the release that comes with it (compare-and-delete);
//   - ScriptRelease: the holder check on release (compare-and-delete);
//   - ScriptCopyName: a conflicted copy's name reserved, and metered, once
//     per upload (a retry reuses the name and meters nothing);
//   - ScriptCommitOnce: an s3-conditional commit recorded, and metered,
//     once per upload and version.
//
// ScriptCommit, ScriptCopyName and ScriptCommitOnce also meter the user's
// stored bytes (see "Usage metering" in the package comment).
const (
	ScriptLock       = "lock"
	ScriptCommit     = "commit"
	ScriptResult     = "result"
	ScriptRelease    = "release"
	ScriptCopyName   = "copy-name"
	ScriptCommitOnce = "commit-once"
)

// scriptSources maps each script name to its Lua source.
var scriptSources = map[string]string{
	ScriptLock: srcLock, ScriptCommit: srcCommit, ScriptResult: srcResult,
	ScriptRelease: srcRelease, ScriptCopyName: srcCopyName, ScriptCommitOnce: srcCommitOnce,
}

// ScriptSource returns the Lua source of the named script as built into
// the coordinator, so a harness can derive a variant of it (Hooks.Script).
func ScriptSource(name string) (string, bool) {
	src, ok := scriptSources[name]
	return src, ok
}

// scripts are one coordinator's Redis scripts: the built-in sources,
// unless Hooks.Script replaced one.
type scripts struct {
	lock, commit, result, release, copyName, commitOnce *redis.Script
}

func newScripts(replace func(name, src string) string) scripts {
	mk := func(name string) *redis.Script {
		src := scriptSources[name]
		if replace != nil {
			src = replace(name, src)
		}
		return redis.NewScript(src)
	}
	return scripts{lock: mk(ScriptLock), commit: mk(ScriptCommit), result: mk(ScriptResult),
		release: mk(ScriptRelease), copyName: mk(ScriptCopyName), commitOnce: mk(ScriptCommitOnce)}
}

// srcLock takes the per-file lock and the fencing token in one round
// trip, and reports what a retry needs to know.
//
//	KEYS: lock, fence, head, result, commit    ARGV: token, ttl-ms, repair
//	-> {"done"}                      a result exists: a duplicate event
//	                                 (not when repair is "1": a winner that
//	                                 repairs its late copy needs the lock
//	                                 even when a duplicate answered first)
//	-> {"busy", pttl}                another holder
//	-> {"ok", fence, headVersion, headUpload, committedVersion|""}
const srcLock = `
if ARGV[3] ~= '1' and redis.call('EXISTS', KEYS[4]) == 1 then return {'done'} end
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {'busy', redis.call('PTTL', KEYS[1])}
end
local f = redis.call('INCR', KEYS[2])
local h = redis.call('HMGET', KEYS[3], 'v', 'id')
local cv = redis.call('GET', KEYS[5])
return {'ok', f, h[1] or '0', h[2] or '', cv or ''}
`

// srcCommit makes the winner the head, fenced: it refuses unless the
// fencing counter still holds the caller's token and the head is still the
// base the decision was made on. The commit record keeps the fence, so the
// whole decision can be read back after the committer died; it expires
// with the result (a retry comes long before), so Redis does not grow with
// every upload ever made. The head keeps the version's size, and the same
// script meters the commit: the kept version (size) plus the final object
// replaced (size minus the previous head's size).
//
//	KEYS: fence, head, commit, meter, usage-stream
//	ARGV: fence, base, version, upload, sha256, commit-record, ttl-seconds,
//	      size, at-unix-nanos, user, path, stream-maxlen
//	-> "ok" | "stale" | "moved"
const srcCommit = luaMeter + `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 'stale' end
local v = tonumber(redis.call('HGET', KEYS[2], 'v') or '0')
if v ~= tonumber(ARGV[2]) then return 'moved' end
local old = tonumber(redis.call('HGET', KEYS[2], 'size') or '0')
redis.call('HSET', KEYS[2], 'v', ARGV[3], 'id', ARGV[4], 'sha', ARGV[5], 'size', ARGV[8])
redis.call('SET', KEYS[3], ARGV[6] .. '|' .. ARGV[1], 'EX', ARGV[7])
meter(KEYS[4], KEYS[5], 2 * tonumber(ARGV[8]) - old, 'commit', ARGV[4], ARGV[10], ARGV[11], ARGV[3], ARGV[9], ARGV[12])
return 'ok'
`

// srcResult writes the immutable result, publishes it once, and
// releases the lock if the caller still holds it.
//
//	KEYS: result, lock    ARGV: result-json, token|"", ttl-seconds, channel
//	-> 1 when the result is new, 0 when it existed
const srcResult = `
local new = redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[3])
if new then redis.call('PUBLISH', ARGV[4], ARGV[1]) end
if ARGV[2] ~= '' and redis.call('GET', KEYS[2]) == ARGV[2] then redis.call('DEL', KEYS[2]) end
if new then return 1 end
return 0
`

// srcRelease is compare-and-delete: only the holder frees a lock.
const srcRelease = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`

// srcCopyName reserves a conflicted-copy name for an upload, once:
// a retry gets the name reserved before. The reservation meters the copy's
// bytes, in the same script, so a retry meters nothing.
//
//	KEYS: copyof, copies, meter, usage-stream
//	ARGV: prefix, suffix, ttl-seconds, size, upload, user, path,
//	      at-unix-nanos, stream-maxlen
const srcCopyName = luaMeter + `
local name = redis.call('GET', KEYS[1])
local new = not name
if new then
  for n = 1, 100000 do
    local c = ARGV[1] .. ARGV[2]
    if n > 1 then c = ARGV[1] .. ' (' .. n .. ')' .. ARGV[2] end
    if redis.call('SADD', KEYS[2], c) == 1 then name = c break end
  end
  if not name then return redis.error_reply('no free conflicted-copy name') end
  redis.call('SET', KEYS[1], name, 'EX', ARGV[3])
end
if new then meter(KEYS[3], KEYS[4], tonumber(ARGV[4]), 'copy', ARGV[5], ARGV[6], ARGV[7], '0', ARGV[8], ARGV[9]) end
return name
`

// srcCommitOnce records a commit discovered in S3 (s3-conditional
// strategy) once; it expires with the result. The first record of a
// version newer than the file's last metered one meters it: the final
// object replaced, size minus the metered size. The per-file guard keeps
// the meter right when a commit record expired and a later handler
// records the same head again.
//
//	KEYS: commit, billed, meter, usage-stream
//	ARGV: record, ttl-seconds, version, size, upload, user, path,
//	      at-unix-nanos, stream-maxlen
//	-> 1 when new.
const srcCommitOnce = luaMeter + `
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2]) then return 0 end
local b = redis.call('HMGET', KEYS[2], 'v', 'size')
if tonumber(b[1] or '0') < tonumber(ARGV[3]) then
  redis.call('HSET', KEYS[2], 'v', ARGV[3], 'size', ARGV[4])
  meter(KEYS[3], KEYS[4], tonumber(ARGV[4]) - tonumber(b[2] or '0'), 'commit', ARGV[5], ARGV[6], ARGV[7], ARGV[3], ARGV[8], ARGV[9])
end
return 1
`

// luaMeter adds delta bytes to a user's meter and appends the usage event
// (with the total after it and a per-user sequence number, so a consumer
// sees a gap) to the user's usage stream, trimmed to about maxlen entries.
// Integers go through string.format: Lua's tostring would print a large
// number in exponent form, which HINCRBY refuses.
const luaMeter = `
local function meter(km, ks, delta, kind, upload, user, path, version, at, maxlen)
  local d = string.format('%d', delta)
  local total = redis.call('HINCRBY', km, 'bytes', d)
  local seq = redis.call('HINCRBY', km, 'seq', 1)
  redis.call('XADD', ks, 'MAXLEN', '~', maxlen, '*', 'upload', upload, 'user', user, 'path', path,
    'kind', kind, 'version', version, 'delta', d, 'bytes', total, 'seq', seq, 'at', at)
end
`
