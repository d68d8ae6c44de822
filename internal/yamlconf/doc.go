// Package yamlconf loads configuration files strictly, the one way every
// YAML input of stormsim is read: scenario files, price overrides and the
// path overrides of a sweep.
//
// Loading goes in three steps: the caller supplies defaults, Decoder
// decodes the file over them strictly (an unknown field, a duplicate key or
// a wrong type is an error), then the caller validates the result with the
// lines the decoder recorded. Every problem is a FieldError that reads
//
//	FILE:LINE: FIELD: MESSAGE, got VALUE
//
// with FIELD a dotted path such as phases[1].rate, and wraps ErrInvalid
// (simrun exits 2 on it). Alias expansion, nesting depth and the number of
// errors are bounded, so a decoder is safe on any input.
package yamlconf
