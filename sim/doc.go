// Package sim runs a scenario against the upload system and checks what
// happened. Run is the entry point: it wires the parts, each a package
// that answers one question, runs them and returns a Result that package
// report renders:
//
//   - env: where do S3 and Redis live (embedded fakes, real servers)?
//   - delivery: how does a notification reach the handler (or an
//     external coordinator process)?
//   - traffic: what do the devices do: when do they upload, push or poll?
//   - fault: what breaks, when, and does this environment allow it?
//   - measure: what did the run measure (outcomes, latency, memory, the
//     harness's own lag)?
//   - checker: did the history keep every invariant?
//   - selftest: can the gates fail (mutants)?
//   - bench: how fast are the fakes themselves?
//
// Every record a run makes goes to OutDir/history.jsonl; the checker reads
// it back from there. The same seed gives the same workload (Result's
// WorkloadHash) and the same uploads.
package sim
