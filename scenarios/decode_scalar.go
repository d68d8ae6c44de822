package scenarios

import (
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// parseBool accepts YAML 1.2 booleans and, as yaml.v3 does for bool
// fields, the YAML 1.1 words yes/no/on/off.
func parseBool(n *yaml.Node) (bool, bool) {
	if n.Kind != yaml.ScalarNode {
		return false, false
	}
	switch n.ShortTag() {
	case "!!bool":
		var b bool
		return b, n.Decode(&b) == nil
	case "!!str":
		switch strings.ToLower(n.Value) {
		case "yes", "on":
			return true, true
		case "no", "off":
			return false, true
		}
	}
	return false, false
}

// describe shows a node in a "got ..." message.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	switch n.ShortTag() {
	case "!!str":
		return quote(n.Value)
	case "!!null":
		return "null"
	}
	if len(n.Value) > 40 {
		return n.Value[:40] + "..."
	}
	return n.Value
}

func (d *decoder) decodeDuration(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind == yaml.ScalarNode {
		switch n.ShortTag() {
		case "!!str":
			if t, err := ParseDuration(n.Value); err == nil {
				v.SetInt(int64(t))
				return
			}
		case "!!int":
			if n.Value == "0" {
				v.SetInt(0)
				return
			}
		}
	}
	d.fail(n, path, `must be a duration like "200ms", "1m" or "2d", got %s`, describe(n))
}

func (d *decoder) decodeInt(n *yaml.Node, v reflect.Value, path string, u unit) {
	var i int64
	ok := false
	if n.Kind == yaml.ScalarNode {
		switch n.ShortTag() {
		case "!!int":
			ok = n.Decode(&i) == nil
		case "!!float":
			var f float64
			// 1e6 is a fine way to write a count.
			if n.Decode(&f) == nil && f == math.Trunc(f) && math.Abs(f) < 1<<62 {
				i, ok = int64(f), true
			}
		case "!!str":
			if u == unitBytes {
				s, err := ParseSize(n.Value)
				if err != nil {
					d.fail(n, path, "must be a size like \"4KiB\" or \"2MB\", got %s", describe(n))
					return
				}
				i, ok = s, true
			}
		}
	}
	if !ok {
		what := "an integer"
		if u == unitBytes {
			what = `a size like 4096 or "4KiB"`
		}
		d.fail(n, path, "must be %s, got %s", what, describe(n))
		return
	}
	if v.OverflowInt(i) {
		d.fail(n, path, "out of range, got %s", describe(n))
		return
	}
	v.SetInt(i)
}

func (d *decoder) decodeUint(n *yaml.Node, v reflect.Value, path string) {
	var x uint64
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || n.Decode(&x) != nil || v.OverflowUint(x) {
		d.fail(n, path, "must be a non-negative integer, got %s", describe(n))
		return
	}
	v.SetUint(x)
}

func (d *decoder) decodeFloat(n *yaml.Node, v reflect.Value, path string, u unit) {
	var f float64
	ok := false
	if n.Kind == yaml.ScalarNode {
		switch n.ShortTag() {
		case "!!int", "!!float":
			ok = n.Decode(&f) == nil
		case "!!str":
			if u != unitNone {
				q, err := parseQuantity(n.Value, u)
				if err != nil {
					d.fail(n, path, "%v, got %s", err, describe(n))
					return
				}
				f, ok = q, true
			}
		}
	}
	if !ok {
		what := "a number"
		switch u {
		case unitBytes:
			what = `a size like 4096 or "4KiB"`
		case unitSeconds:
			what = `a number of seconds or a duration like "200ms"`
		case unitFraction:
			what = `a fraction like 0.2 or a percentage like "20%"`
		}
		d.fail(n, path, "must be %s, got %s", what, describe(n))
		return
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		d.fail(n, path, "must be a finite number, got %s", describe(n))
		return
	}
	v.SetFloat(f)
}

// suggest returns ` (did you mean "x"?)` for a near miss, else "".
func suggest(name string, names []string) string {
	best, bestD := "", 3
	for _, c := range names {
		if dd := editDistance(name, c); dd < bestD {
			best, bestD = c, dd
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %s?)", strconv.Quote(best))
}

func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 99
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := prev[j-1]
			if a[i-1] != b[j-1] {
				c++
			}
			cur[j] = min(c, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
