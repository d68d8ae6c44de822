// Package scenarios holds the built-in scenario files and the schema,
// loader and validator for scenario files.
//
// A file loads in three steps: Default supplies every default (listed in
// defaults.go and README.md), the YAML is decoded strictly over it (an
// unknown field, a duplicate key or a wrong type is an error), then the
// result is validated. Every error wraps ErrInvalid and reads
//
//	FILE:LINE: FIELD: MESSAGE, got VALUE
//
// with FIELD a dotted path such as phases[1].rate. Files over MaxFileSize
// are rejected, and alias expansion, nesting depth and error counts are
// bounded, so Parse is safe on any input.
//
// Units: durations are Go duration strings ("200ms", "1m30s"); sizes are
// integers (bytes) or strings such as "4KiB", "2MiB", "1GB". Distribution
// fields (Dist) hold base units: bytes under sizes, seconds everywhere
// else.
//
// Gates ("polls.mean <= 1.2") are parsed at load time into
// Scenario.ParsedGates; the metrics they may name are in Metrics.
package scenarios
