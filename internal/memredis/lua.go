// Package memredis makes the embedded Redis's scripts cheap. miniredis
// (v2.40) builds a new Lua state for every EVAL and EVALSHA: it opens seven
// libraries, loads cjson, builds the redis module and runs its
// global-protection script before the script itself; the coordinator runs
// about five scripts per upload, all under miniredis's one global lock.
//
// Install keeps miniredis and its commands and puts a pre-command hook
// (its documented extension point, server.SetPreHook) in front of EVAL and
// EVALSHA: a script runs on a pooled Lua state already set up for that
// script, with its compiled function (the first EVAL of a script registers
// it with miniredis's own SCRIPT LOAD, so SCRIPT EXISTS and EVALSHA know
// it). The script runs under miniredis's lock, and its redis.call goes
// through miniredis's own command dispatch with the context miniredis
// gives a script's calls, so the commands, their replies and their
// atomicity are miniredis's. The reply conversion follows miniredis's
// lua.go (MIT, Harmen / alicebob). Anything unusual (a transaction, a selected database other than 0, a
// subscriber connection, a bad argument count, an EVALSHA of a script
// loaded with SCRIPT LOAD and never EVALed) is left to miniredis. The test
// compares the coordinator's scripts with redis-server.
package memredis

import (
	"bufio"
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/alicebob/miniredis/v2"
	luajson "github.com/alicebob/miniredis/v2/gopher-json"
	"github.com/alicebob/miniredis/v2/server"
	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/parse"
)

// captureCmd is the command through which Install obtains the context
// miniredis gives a script's redis.call (its type is unexported).
const captureCmd = "STORMSIM.SCRIPTCTX"

// Cache holds the compiled scripts and their pooled states of one
// miniredis. Its fields are used under miniredis's lock, except mu's.
type Cache struct {
	m *miniredis.Miniredis

	mu      sync.Mutex // guards byText and bySHA
	byText  map[string]*script
	bySHA   map[string]*script
	nested  any // miniredis's *connCtx for calls made by a script
	ctx     ctxFields
	replies bytes.Buffer
	rw      *bufio.Writer
	rr      *bufio.Reader
	call    *server.Peer // the peer of every redis.call, on rw

	// Calls counts script runs served from the cache (for tests and
	// figures).
	Calls atomic.Int64
}

type script struct {
	src   string
	sha   string
	proto *lua.FunctionProto
	seen  bool      // miniredis has run it once (it knows the SHA)
	idle  []*pooled // states ready for this script
}

// pooled is one Lua state set up for one script.
type pooled struct {
	l    *lua.LState
	fn   *lua.LFunction
	peer *server.Peer // the caller of the current run (redis.setresp)
}

// Install puts the cache in front of m's EVAL and EVALSHA. m must be
// started; after m.Restart (a new server) call Install again.
func Install(m *miniredis.Miniredis) (*Cache, error) {
	c := &Cache{m: m, byText: map[string]*script{}, bySHA: map[string]*script{}}
	c.rw = bufio.NewWriter(&c.replies)
	c.rr = bufio.NewReader(&c.replies)
	c.call = server.NewPeer(c.rw)
	if err := c.attach(); err != nil {
		return nil, err
	}
	return c, nil
}

// Reattach installs c again on m's current server (after a restart).
func (c *Cache) Reattach() error { return c.attach() }

func (c *Cache) attach() error {
	srv := c.m.Server()
	if srv == nil {
		return errors.New("memredis: miniredis is not started")
	}
	var captured any
	_ = srv.Register(captureCmd, func(p *server.Peer, _ string, _ []string) {
		captured = p.Ctx
		p.WriteOK()
	})
	var buf bytes.Buffer
	w := bufio.NewWriter(&buf)
	srv.Dispatch(server.NewPeer(w), []string{"EVAL", "return redis.call('" + captureCmd + "')", "0"})
	_ = w.Flush()
	if captured == nil {
		return fmt.Errorf("memredis: miniredis did not run the capture script (%q)", buf.String())
	}
	f, err := lookupCtxFields(captured)
	if err != nil {
		return err
	}
	if !reflect.ValueOf(captured).Elem().Field(f.nested).Bool() {
		return errors.New("memredis: the capture script's context is not nested")
	}
	c.nested, c.ctx = captured, f
	c.call.Ctx = captured
	srv.SetPreHook(c.hook)
	return nil
}

// ctxFields locates the fields of miniredis's unexported connection
// context (*connCtx) that plain reads. They are looked up once, at
// attach, so that a miniredis whose context has changed fails Install
// instead of silently sending every script down the slow path.
type ctxFields struct {
	typ                     reflect.Type
	selectedDB, transaction int
	subscriber, nested      int
}

func lookupCtxFields(ctx any) (ctxFields, error) {
	t := reflect.TypeOf(ctx)
	if t.Kind() != reflect.Pointer || t.Elem().Kind() != reflect.Struct {
		return ctxFields{}, fmt.Errorf("memredis: miniredis's connection context is a %s, not a pointer to a struct", t)
	}
	f := ctxFields{typ: t}
	for _, want := range []struct {
		name  string
		kind  reflect.Kind
		index *int
	}{
		{"selectedDB", reflect.Int, &f.selectedDB},
		{"transaction", reflect.Slice, &f.transaction},
		{"subscriber", reflect.Pointer, &f.subscriber},
		{"nested", reflect.Bool, &f.nested},
	} {
		sf, ok := t.Elem().FieldByName(want.name)
		if !ok || len(sf.Index) != 1 || sf.Type.Kind() != want.kind {
			return ctxFields{}, fmt.Errorf("memredis: miniredis's %s has no field %s of kind %s (miniredis changed?)", t, want.name, want.kind)
		}
		*want.index = sf.Index[0]
	}
	return f, nil
}

// plain reports a connection in its default state: no transaction, not
// nested, not subscribed, database 0. Other states are miniredis's.
func (c *Cache) plain(p *server.Peer) bool {
	if p.Ctx == nil {
		return true
	}
	v := reflect.ValueOf(p.Ctx)
	if v.Type() != c.ctx.typ || v.IsNil() {
		return false
	}
	e := v.Elem()
	return e.Field(c.ctx.selectedDB).Int() == 0 && e.Field(c.ctx.transaction).IsNil() &&
		e.Field(c.ctx.subscriber).IsNil() && !e.Field(c.ctx.nested).Bool()
}

// hook serves EVAL and EVALSHA of known scripts; it returns false for
// everything it leaves to miniredis.
func (c *Cache) hook(p *server.Peer, cmd string, args ...string) bool {
	switch cmd {
	case "EVAL", "EVALSHA":
	case "SCRIPT":
		if len(args) > 0 && strings.EqualFold(args[0], "flush") {
			c.mu.Lock()
			c.byText, c.bySHA = map[string]*script{}, map[string]*script{}
			c.mu.Unlock()
		}
		return false
	default:
		return false
	}
	if len(args) < 2 || !c.plain(p) {
		return false
	}
	n, err := strconv.Atoi(args[1])
	if err != nil || n < 0 || n > len(args)-2 {
		return false // miniredis words the error
	}
	c.mu.Lock()
	var s *script
	if cmd == "EVAL" {
		s = c.byText[args[0]]
		if s == nil {
			s = c.compile(args[0])
			if s == nil {
				c.mu.Unlock()
				return false // miniredis reports the compile error
			}
		}
		if !s.seen {
			// miniredis records the SHA of every script it runs (SCRIPT
			// EXISTS, EVALSHA); SCRIPT LOAD records it without running the
			// script, which then runs here like every later call.
			c.mu.Unlock()
			if !c.load(s) {
				return false
			}
			c.mu.Lock()
			s.seen = true
		}
	} else {
		s = c.bySHA[strings.ToLower(args[0])]
		if s == nil || !s.seen {
			c.mu.Unlock()
			return false // NOSCRIPT, or a script loaded by SCRIPT LOAD
		}
	}
	c.mu.Unlock()
	c.m.Lock()
	defer c.m.Unlock()
	c.run(p, s, args[2:2+n], args[2+n:])
	c.Calls.Add(1)
	return true
}

// load registers s with miniredis through its own SCRIPT LOAD; false when
// miniredis did not answer with the script's SHA (then miniredis runs the
// EVAL itself).
func (c *Cache) load(s *script) bool {
	var buf bytes.Buffer
	w := bufio.NewWriter(&buf)
	c.m.Server().Dispatch(server.NewPeer(w), []string{"SCRIPT", "LOAD", s.src})
	_ = w.Flush()
	r, err := server.ParseReply(bufio.NewReader(&buf))
	sha, _ := r.(string)
	return err == nil && sha == s.sha
}

// compile parses src once; nil when it does not compile. mu is held.
func (c *Cache) compile(src string) *script {
	chunk, err := parse.Parse(strings.NewReader(src), "<string>")
	if err != nil {
		return nil
	}
	proto, err := lua.Compile(chunk, "")
	if err != nil {
		return nil
	}
	// gopher-lua gives every vararg function a Lua 5.0 "arg" table per
	// call (8 allocations); the main chunk has no local of that name, so
	// the table is unreachable from the script and is not built.
	proto.IsVarArg &^= lua.VarArgNeedsArg
	sum := sha1.Sum([]byte(src))
	s := &script{src: src, sha: hex.EncodeToString(sum[:]), proto: proto}
	c.byText[src], c.bySHA[s.sha] = s, s
	return s
}

// run executes s for p under miniredis's lock and writes the reply.
func (c *Cache) run(p *server.Peer, s *script, keys, argv []string) {
	st := c.state(s)
	st.peer = p
	l := st.l
	kt := l.CreateTable(len(keys), 0)
	for i, k := range keys {
		kt.RawSetInt(i+1, lua.LString(k))
	}
	at := l.CreateTable(len(argv), 0)
	for i, a := range argv {
		at.RawSetInt(i+1, lua.LString(a))
	}
	l.G.Global.RawSetString("KEYS", kt)
	l.G.Global.RawSetString("ARGV", at)
	// redis.setresp changes the protocol of the script's own calls, never
	// the caller's connection: restore it however the script ends (a
	// SwitchResp3 left behind would switch the connection after its next
	// command).
	oldresp := p.Resp3
	defer func() { p.Resp3, p.SwitchResp3 = oldresp, nil }()
	l.SetTop(0)
	l.Push(st.fn)
	if err := l.PCall(0, lua.MultRet, nil); err != nil {
		// As miniredis words a script's runtime error. The state may hold
		// half-done work: it is dropped, not pooled.
		p.Resp3, p.SwitchResp3 = oldresp, nil
		p.WriteError(fmt.Sprintf("ERR Error compiling script (new function): %s", err.Error()))
		l.Close()
		return
	}
	p.Resp3, p.SwitchResp3 = oldresp, nil
	luaToRedis(l, p, l.Get(1))
	l.SetTop(0)
	st.peer = nil
	s.idle = append(s.idle, st)
}

// state takes an idle state of s or sets up a new one.
func (c *Cache) state(s *script) *pooled {
	if n := len(s.idle); n > 0 {
		st := s.idle[n-1]
		s.idle = s.idle[:n-1]
		return st
	}
	st := &pooled{}
	l := lua.NewState(lua.Options{SkipOpenLibs: true})
	for _, lib := range []struct {
		n string
		f lua.LGFunction
	}{
		{lua.LoadLibName, lua.OpenPackage}, {lua.BaseLibName, lua.OpenBase}, {lua.CoroutineLibName, lua.OpenCoroutine},
		{lua.TabLibName, lua.OpenTable}, {lua.StringLibName, lua.OpenString}, {lua.MathLibName, lua.OpenMath},
		{lua.DebugLibName, lua.OpenDebug},
	} {
		if err := l.CallByParam(lua.P{Fn: l.NewFunction(lib.f), NRet: 0, Protect: true}, lua.LString(lib.n)); err != nil {
			panic(err) // the standard libraries always open
		}
	}
	luajson.Preload(l)
	if err := l.CallByParam(lua.P{Fn: l.GetGlobal("require"), NRet: 1, Protect: true}, lua.LString("json")); err != nil {
		panic(err)
	}
	l.SetGlobal("cjson", l.Get(-1))
	l.Pop(1)
	l.SetGlobal("KEYS", l.NewTable())
	l.SetGlobal("ARGV", l.NewTable())
	mod := l.CreateTable(0, 16)
	for name, fn := range c.redisFuncs(st) {
		mod.RawSetString(name, l.NewFunction(fn))
	}
	for i, name := range []string{"LOG_DEBUG", "LOG_VERBOSE", "LOG_NOTICE", "LOG_WARNING"} {
		mod.RawSetString(name, lua.LNumber(i))
	}
	l.SetGlobal("redis", mod)
	l.SetGlobal("server", mod)
	l.RegisterModule("os", map[string]lua.LGFunction{"clock": func(l *lua.LState) int { l.Push(lua.LNumber(42)); return 1 }})
	// Compiled as miniredis compiles it (no chunk name), so that errors
	// name the same source.
	chunk, err := parse.Parse(strings.NewReader(protectGlobals), "<string>")
	if err != nil {
		panic(err)
	}
	guard, err := lua.Compile(chunk, "")
	if err != nil {
		panic(err)
	}
	l.Push(l.NewFunctionFromProto(guard))
	if err := l.PCall(0, 0, nil); err != nil {
		panic(err)
	}
	st.l, st.fn = l, l.NewFunctionFromProto(s.proto)
	return st
}
