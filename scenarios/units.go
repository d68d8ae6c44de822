package scenarios

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/stormsim/stormsim/internal/yamlconf"
)

// unit is the base unit of a quantity field (a field's `unit:"..."` tag
// names it).
type unit = yamlconf.Unit

const (
	unitNone     unit = ""         // plain number
	unitBytes    unit = "bytes"    // int or "4KiB", "2MiB", "1GB"
	unitSeconds  unit = "seconds"  // number of seconds or "200ms", "1m"
	unitFraction unit = "fraction" // number 0..1 or a percentage "20%", as gates accept
)

var sizeSuffixes = []struct {
	suffix string
	mult   float64
}{
	// Longest first so "KiB" wins over "B".
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12},
	{"kB", 1e3}, {"B", 1},
}

// ParseSize parses a byte size such as "512", "4KiB", "2MiB", "1.5GB".
// Binary (KiB, MiB, GiB, TiB) and decimal (KB, MB, GB, TB) suffixes are
// accepted; the result is rounded down to whole bytes.
func ParseSize(s string) (int64, error) {
	f, err := parseSizeFloat(s)
	if err != nil {
		return 0, err
	}
	if f >= math.MaxInt64 {
		return 0, errors.New("size too large")
	}
	return int64(f), nil
}

func parseSizeFloat(s string) (float64, error) {
	t := strings.TrimSpace(s)
	mult := 1.0
	for _, sf := range sizeSuffixes {
		if strings.HasSuffix(t, sf.suffix) {
			mult = sf.mult
			t = strings.TrimSpace(strings.TrimSuffix(t, sf.suffix))
			break
		}
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || t == "" || strings.ContainsAny(t, "xXpP_") {
		return 0, errors.New(`not a size like "4KiB" or "2MB"`)
	}
	f *= mult
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, errors.New("size out of range")
	}
	if f < 0 {
		return 0, errors.New("size must not be negative")
	}
	return math.Floor(f), nil
}

// ParseDuration parses a Go duration ("200ms", "1m30s") that may start
// with whole or fractional days ("3d", "1d12h", "0.5d").
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	var days time.Duration
	if i := strings.IndexByte(s, 'd'); i > 0 {
		f, err := strconv.ParseFloat(s[:i], 64)
		if err != nil || f < 0 || f > 100_000 || strings.ContainsAny(s[:i], "xXpPeE_") {
			return 0, errors.New(`not a duration like "200ms", "1m" or "2d"`)
		}
		days = time.Duration(f * 24 * float64(time.Hour))
		s = s[i+1:]
		if s == "" {
			return days, nil
		}
		if s[0] == '-' || s[0] == '+' {
			return 0, errors.New(`not a duration like "200ms", "1m" or "2d"`)
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, errors.New(`not a duration like "200ms", "1m" or "2d"`)
	}
	if days > 0 && d > math.MaxInt64-days {
		return 0, errors.New("duration out of range")
	}
	return days + d, nil
}

// parseDurationSeconds parses a duration (see ParseDuration) into seconds.
func parseDurationSeconds(s string) (float64, error) {
	d, err := ParseDuration(s)
	if err != nil {
		return 0, err
	}
	return d.Seconds(), nil
}

// parseQuantity parses a string quantity in unit u, returning base units.
func parseQuantity(s string, u unit) (float64, error) {
	switch u {
	case unitBytes:
		return parseSizeFloat(s)
	case unitSeconds:
		return parseDurationSeconds(s)
	case unitFraction:
		return parsePercent(s)
	}
	return 0, errors.New("not a number")
}

// parsePercent parses a percentage such as "20%" or "0.5 %" into a
// fraction (0.2, 0.005).
func parsePercent(s string) (float64, error) {
	t, ok := strings.CutSuffix(strings.TrimSpace(s), "%")
	t = strings.TrimSpace(t)
	f, err := strconv.ParseFloat(t, 64)
	if !ok || err != nil || t == "" || strings.ContainsAny(t, "xXpP_") {
		return 0, errors.New(`not a fraction like 0.2 or a percentage like "20%"`)
	}
	return f / 100, nil
}

// formatFloat prints a float the short way YAML would ("3", "0.25").
func formatFloat(f float64) string {
	return strconv.FormatFloat(f, 'g', -1, 64)
}
