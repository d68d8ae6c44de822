package model

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/stormsim/stormsim/scenarios"
)

// WriteYAML writes p as a profile file ParseProfile reads back (only the
// fields that are set).
func (p *Profile) WriteYAML(w io.Writer) error {
	var b strings.Builder
	kv := func(indent, k, v string) { fmt.Fprintf(&b, "%s%s: %s\n", indent, k, v) }
	kv("", "name", strconv.Quote(p.Name))
	kv("", "date", strconv.Quote(p.Date))
	if p.Description != "" {
		kv("", "description", strconv.Quote(p.Description))
	}
	kv("", "source", strconv.Quote(p.Source))
	b.WriteString("handler:\n")
	h := &p.Handler
	kv("  ", "kind", h.Kind)
	for _, f := range []struct {
		k string
		v int
	}{{"account_concurrency", h.AccountConcurrency}, {"reserved_concurrency", h.ReservedConcurrency}, {"scale_per_10s", h.ScalePer10s}} {
		if f.v != 0 {
			kv("  ", f.k, strconv.Itoa(f.v))
		}
	}
	if len(h.RetryDelays) > 0 {
		var ds []string
		for _, d := range h.RetryDelays {
			ds = append(ds, num(d))
		}
		kv("  ", "retry_delays", "["+strings.Join(ds, ", ")+"]")
	}
	b.WriteString("redis:\n")
	kv("  ", "shards", strconv.Itoa(p.Redis.Shards))
	kv("  ", "service", num(p.Redis.Service))
	kv("  ", "script_service", num(p.Redis.ScriptService))
	b.WriteString("ops:\n")
	for _, o := range p.Ops {
		fmt.Fprintf(&b, "  - {op: %s, %s}\n", o.Op, dist(o.Dist))
	}
	kv("", "s3_read_bytes_per_second", num(p.S3ReadBytesPerSecond))
	kv("", "s3_copy_bytes_per_second", num(p.S3CopyBytesPerSecond))
	b.WriteString("device:\n")
	for _, f := range []struct {
		k string
		d scenarios.Dist
	}{{"put", p.Device.Put}, {"bandwidth", p.Device.Bandwidth}, {"poll", p.Device.Poll}, {"push", p.Device.Push}} {
		if f.d.Kind != "" {
			kv("  ", f.k, "{"+dist(f.d)+"}")
		}
	}
	if c := &p.CPU; c.Cores > 0 {
		b.WriteString("cpu:\n")
		kv("  ", "cores", strconv.Itoa(c.Cores))
		kv("  ", "busy_share", num(c.BusyShare))
		if c.Wake.Kind != "" {
			kv("  ", "wake", "{"+dist(c.Wake)+"}")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func num(f float64) string { return strconv.FormatFloat(f, 'g', 6, 64) }

// dist writes the fields calibrate sets.
func dist(d scenarios.Dist) string {
	parts := []string{"kind: " + d.Kind}
	for _, f := range []struct {
		k string
		v float64
	}{{"value", d.Value}, {"min", d.Min}, {"max", d.Max}, {"mean", d.Mean}, {"median", d.Median}, {"sigma", d.Sigma}, {"cap", d.Cap}} {
		if f.v != 0 {
			parts = append(parts, f.k+": "+num(f.v))
		}
	}
	if len(d.Mix) > 0 {
		var mix []string
		for _, c := range d.Mix {
			mix = append(mix, "{weight: "+num(c.Weight)+", "+dist(c.Dist)+"}")
		}
		parts = append(parts, "mix: ["+strings.Join(mix, ", ")+"]")
	}
	return strings.Join(parts, ", ")
}
