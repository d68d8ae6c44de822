// Package measure aggregates what a run measured with bounded memory: the
// devices' outcomes, latencies and polls per second (Recorder), the
// process's memory over the run (MemSampler), the harness's own lag and
// CPU (Meter, Saturation) and resource use (Harness).
package measure
