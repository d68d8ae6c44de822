package main

import (
	"flag"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/stormsim/stormsim/sim/traffic"
)

// outputOnlyFlags change where and how a run reports, not what it runs:
// the rerun line leaves them out.
var outputOnlyFlags = map[string]bool{"out": true, "quiet": true, "json": true, "cpuprofile": true,
	"memprofile": true, "metrics-addr": true, "out-endpoint": true, "start-at": true, "verdict-exit": true}

// rerunLine is the command that repeats the run: the resolved seed and
// shard, every other flag set on the command line that changes what is run
// (server flags included, credentials redacted), and the scenario. A flag
// added later is repeated unless listed in outputOnlyFlags.
// Flags named in skip are left out too (a repetition's own line drops
// --repeat).
func rerunLine(fs *flag.FlagSet, seed uint64, shard traffic.Shard, path string, skip ...string) string {
	args := []string{"simrun", "--seed", strconv.FormatUint(seed, 10)}
	if shard.N > 1 {
		args = append(args, "--shard", fmt.Sprintf("%d/%d", shard.I, shard.N))
	}
	fs.Visit(func(f *flag.Flag) { // in name order
		if outputOnlyFlags[f.Name] || f.Name == "seed" || f.Name == "shard" || slices.Contains(skip, f.Name) {
			return
		}
		v := f.Value.String()
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
			if v == "true" {
				args = append(args, "--"+f.Name)
			} else {
				args = append(args, shellQuote("--"+f.Name+"="+v))
			}
			return
		}
		if redact := redactedFlags[f.Name]; redact != nil {
			v = redact(v)
		}
		args = append(args, "--"+f.Name, shellQuote(v))
	})
	return strings.Join(append(args, shellQuote(path)), " ")
}

// shellQuote returns s as one POSIX shell word: unchanged when it holds
// only characters no shell treats specially, single-quoted otherwise.
func shellQuote(s string) string {
	if s == "" {
		return "''"
	}
	safe := true
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("@%+=:,./_-", r)) {
			safe = false
			break
		}
	}
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
