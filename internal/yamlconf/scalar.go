package yamlconf

import (
	"math"
	"reflect"
	"strings"
	"time"

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

func (d *Decoder) decodeDuration(n *yaml.Node, v reflect.Value, path string) {
	parse, want := time.ParseDuration, `a duration like "200ms" or "1m"`
	if d.Units != nil {
		parse, want = d.Units.Duration, d.Units.DurationWant()
	}
	if n.Kind == yaml.ScalarNode {
		switch n.ShortTag() {
		case "!!str":
			if t, err := parse(n.Value); err == nil {
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
	d.Fail(n, path, "must be %s, got %s", want, Describe(n))
}

// quantity parses a string in a field of unit u; ok is false when the
// field takes no strings.
func (d *Decoder) quantity(s string, u Unit) (f float64, ok bool, err error) {
	if u == "" || d.Units == nil {
		return 0, false, nil
	}
	f, err = d.Units.Quantity(s, u)
	return f, true, err
}

// want names what a numeric field of unit u accepts.
func (d *Decoder) want(u Unit, plain string) string {
	if u == "" || d.Units == nil {
		return plain
	}
	return d.Units.Want(u)
}

func (d *Decoder) decodeInt(n *yaml.Node, v reflect.Value, path string, u Unit) {
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
			f, takes, err := d.quantity(n.Value, u)
			switch {
			case !takes:
			case err != nil:
				d.Fail(n, path, "%v, got %s", err, Describe(n))
				return
			case f >= math.MaxInt64 || f <= math.MinInt64:
				d.Fail(n, path, "out of range, got %s", Describe(n))
				return
			default:
				i, ok = int64(f), true
			}
		}
	}
	if !ok {
		d.Fail(n, path, "must be %s, got %s", d.want(u, "an integer"), Describe(n))
		return
	}
	if v.OverflowInt(i) {
		d.Fail(n, path, "out of range, got %s", Describe(n))
		return
	}
	v.SetInt(i)
}

func (d *Decoder) decodeUint(n *yaml.Node, v reflect.Value, path string) {
	var x uint64
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || n.Decode(&x) != nil || v.OverflowUint(x) {
		d.Fail(n, path, "must be a non-negative integer, got %s", Describe(n))
		return
	}
	v.SetUint(x)
}

func (d *Decoder) decodeFloat(n *yaml.Node, v reflect.Value, path string, u Unit) {
	var f float64
	ok := false
	if n.Kind == yaml.ScalarNode {
		switch n.ShortTag() {
		case "!!int", "!!float":
			ok = n.Decode(&f) == nil
		case "!!str":
			q, takes, err := d.quantity(n.Value, u)
			if takes && err != nil {
				d.Fail(n, path, "%v, got %s", err, Describe(n))
				return
			}
			f, ok = q, takes
		}
	}
	if !ok {
		d.Fail(n, path, "must be %s, got %s", d.want(u, "a number"), Describe(n))
		return
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		d.Fail(n, path, "must be a finite number, got %s", Describe(n))
		return
	}
	v.SetFloat(f)
}
