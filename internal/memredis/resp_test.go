package memredis_test

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/alicebob/miniredis/v2"

	"github.com/stormsim/stormsim/internal/memredis"
)

// respConn is a raw RESP2 connection, to see the reply types a client
// would parse.
type respConn struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

func (rc respConn) do(args ...string) string {
	rc.t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := rc.c.Write([]byte(b.String())); err != nil {
		rc.t.Fatal(err)
	}
	line, err := rc.r.ReadString('\n')
	if err != nil {
		rc.t.Fatal(err)
	}
	return strings.TrimRight(line, "\r\n")
}

// A script that switches its calls to RESP3 and then fails must leave the
// connection on RESP2: redis.setresp is the script's own state. Before the
// fix the connection answered the next command in RESP3 (a map, "%1").
func TestCache_Eval_ScriptErrorKeepsRESP2(t *testing.T) {
	m := miniredis.RunT(t)
	if _, err := memredis.Install(m); err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", m.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rc := respConn{t: t, c: c, r: bufio.NewReader(c)}
	if got := rc.do("HSET", "h", "a", "1"); got != ":1" {
		t.Fatalf("HSET = %q", got)
	}
	for _, script := range []string{
		"redis.setresp(3); error('boom')",
		"redis.setresp(3); return redis.call('INCR', 'h')",
		"redis.setresp(3); return 1",
	} {
		for run := range 3 { // the first run loads the script, later ones reuse its state
			if got := rc.do("EVAL", script, "0"); strings.HasPrefix(got, "%") {
				t.Fatalf("%q run %d replied %q", script, run, got)
			}
			if got := rc.do("HGETALL", "h"); got != "*2" {
				t.Fatalf("after %q (run %d): HGETALL reply starts %q, want the RESP2 array *2", script, run, got)
			}
			for range 2 { // the array's field and value
				_, _ = rc.r.ReadString('\n')
				_, _ = rc.r.ReadString('\n')
			}
		}
	}
}
