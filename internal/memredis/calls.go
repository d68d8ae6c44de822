package memredis

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/alicebob/miniredis/v2/server"
	lua "github.com/yuin/gopher-lua"
)

// redisFuncs is the redis module of a pooled state, as miniredis builds it
// (lua.go mkLua); calls dispatch to miniredis's commands with the nested
// context, under the lock the script holds.
func (c *Cache) redisFuncs(st *pooled) map[string]lua.LGFunction {
	call := func(failFast bool) lua.LGFunction {
		return func(l *lua.LState) int {
			top := l.GetTop()
			if top == 0 {
				l.Error(lua.LString("Please specify at least one argument for this redis lib call script"), 1)
				return 0
			}
			args := make([]string, 0, top)
			for i := 1; i <= top; i++ {
				switch a := l.Get(i).(type) {
				case lua.LNumber:
					args = append(args, a.String())
				case lua.LString:
					args = append(args, string(a))
				default:
					l.Error(lua.LString("Lua redis lib command arguments must be strings or integers"), 1)
					return 0
				}
			}
			c.replies.Reset()
			c.rw.Reset(&c.replies)
			// One peer serves every call: calls run one at a time, under
			// miniredis's lock, and a command leaves no state on a nested
			// peer that the next one reads (Dispatch resets SwitchResp3).
			c.m.Server().Dispatch(c.call, args)
			_ = c.rw.Flush()
			c.rr.Reset(&c.replies)
			res, err := server.ParseReply(c.rr)
			if err != nil {
				msg := err.Error()
				if failFast {
					if strings.Contains(msg, "ERR unknown command") {
						msg = "Unknown Redis command called from script"
					}
					l.Error(lua.LString(msg), 1)
					return 0
				}
				if strings.Contains(msg, "ERR unknown command") {
					msg = "ERR Unknown Redis command called from script"
				}
				t := &lua.LTable{}
				t.RawSetString("err", lua.LString(msg))
				l.Push(t)
				return 1
			}
			if res == nil {
				l.Push(lua.LFalse)
				return 1
			}
			switch r := res.(type) {
			case int64:
				l.Push(lua.LNumber(r))
			case int:
				l.Push(lua.LNumber(r))
			case []uint8:
				l.Push(lua.LString(string(r)))
			case []interface{}:
				l.Push(redisToLua(l, r))
			case server.Simple:
				l.Push(statusReply(string(r)))
			case string:
				l.Push(lua.LString(r))
			case error:
				l.Error(lua.LString(r.Error()), 1)
				return 0
			default:
				l.Error(lua.LString(fmt.Sprintf("reply type %T not handled", r)), 1)
				return 0
			}
			return 1
		}
	}
	return map[string]lua.LGFunction{
		"call":  call(true),
		"pcall": call(false),
		"error_reply": func(l *lua.LState) int {
			msg, ok := l.Get(1).(lua.LString)
			if !ok {
				l.Error(lua.LString("wrong number or type of arguments"), 1)
				return 0
			}
			parts := strings.SplitN(msg.String(), " ", 2)
			if parts[0] != "" && parts[0][0] == '-' {
				parts[0] = parts[0][1:]
			}
			final := "ERR " + parts[0]
			if len(parts) == 2 {
				final = parts[0] + " " + parts[1]
			}
			t := &lua.LTable{}
			t.RawSetString("err", lua.LString(final))
			l.Push(t)
			return 1
		},
		"log": func(l *lua.LState) int {
			_, _ = l.CheckInt(1), l.CheckString(2)
			return 0
		},
		"status_reply": func(l *lua.LState) int {
			msg, ok := l.Get(1).(lua.LString)
			if !ok {
				l.Error(lua.LString("wrong number or type of arguments"), 1)
				return 0
			}
			l.Push(statusReply(string(msg)))
			return 1
		},
		"sha1hex": func(l *lua.LState) int {
			if l.GetTop() != 1 {
				l.Error(lua.LString("wrong number of arguments"), 1)
				return 0
			}
			sum := sha1.Sum([]byte(lua.LVAsString(l.Get(1))))
			l.Push(lua.LString(hex.EncodeToString(sum[:])))
			return 1
		},
		"replicate_commands": func(l *lua.LState) int { l.Push(lua.LTrue); return 1 },
		"set_repl": func(l *lua.LState) int {
			if l.GetTop() != 1 {
				l.Error(lua.LString("wrong number of arguments"), 1)
				return 0
			}
			return 1
		},
		"setresp": func(l *lua.LState) int {
			var resp3 bool
			switch l.CheckInt(1) {
			case 2:
			case 3:
				resp3 = true
			default:
				l.Error(lua.LString("RESP version must be 2 or 3"), 1)
				return 0
			}
			st.peer.SwitchResp3 = &resp3
			return 0
		},
	}
}

// luaToRedis writes a script's return value as miniredis does.
func luaToRedis(l *lua.LState, p *server.Peer, value lua.LValue) {
	if value == nil {
		p.WriteNull()
		return
	}
	switch t := value.(type) {
	case *lua.LNilType:
		p.WriteNull()
	case lua.LBool:
		if lua.LVAsBool(value) {
			p.WriteInt(1)
		} else {
			p.WriteNull()
		}
	case lua.LNumber:
		p.WriteInt(int(lua.LVAsNumber(value)))
	case lua.LString:
		p.WriteBulk(lua.LVAsString(value))
	case *lua.LTable:
		if s := t.RawGetString("err"); s.Type() != lua.LTNil {
			p.WriteError(s.String())
			return
		}
		if s := t.RawGetString("ok"); s.Type() != lua.LTNil {
			p.WriteInline(s.String())
			return
		}
		var result []lua.LValue
		for j := 1; ; j++ {
			val := l.GetTable(value, lua.LNumber(j))
			if val == nil {
				result = append(result, val)
				continue
			}
			if val.Type() == lua.LTNil {
				break
			}
			result = append(result, val)
		}
		p.WriteLen(len(result))
		for _, r := range result {
			luaToRedis(l, p, r)
		}
	default:
		p.WriteError(fmt.Sprintf("ERR script returned a %s", value.Type()))
	}
}

func redisToLua(l *lua.LState, res []interface{}) *lua.LTable {
	t := l.NewTable()
	for _, e := range res {
		var v lua.LValue = lua.LFalse
		switch et := e.(type) {
		case nil:
		case int:
			v = lua.LNumber(et)
		case int64:
			v = lua.LNumber(et)
		case []uint8:
			v = lua.LString(string(et))
		case []interface{}:
			v = redisToLua(l, et)
		case string:
			v = lua.LString(et)
		case server.Simple:
			v = lua.LString(string(et))
		default:
			v = lua.LString(fmt.Sprint(et))
		}
		l.RawSet(t, lua.LNumber(t.Len()+1), v)
	}
	return t
}

func statusReply(msg string) *lua.LTable {
	t := &lua.LTable{}
	t.RawSetString("ok", lua.LString(msg))
	return t
}

// protectGlobals is miniredis's: scripts may not create or read
// undeclared globals.
const protectGlobals = `
local dbg=debug
local mt = {}
setmetatable(_G, mt)
mt.__newindex = function (t, n, v)
  if dbg.getinfo(2) then
    local w = dbg.getinfo(2, "S").what
    if w ~= "C" then
      error("Script attempted to create global variable '"..tostring(n).."'", 2)
    end
  end
  rawset(t, n, v)
end
mt.__index = function (t, n)
  if dbg.getinfo(2) and dbg.getinfo(2, "S").what ~= "C" then
    error("Script attempted to access nonexistent global variable '"..tostring(n).."'", 2)
  end
  return rawget(t, n)
end
debug = nil
`
