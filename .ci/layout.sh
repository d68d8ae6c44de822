#!/usr/bin/env bash
# Prints the layout table of docs/design.md ("Layout"): each Go package,
# the question it answers, and its non-test lines and files (wc -l of its
# .go files without _test.go). A package missing here, or listed here but
# gone, is named on stderr and makes the script exit 1, so the table
# cannot silently leave one out.
#
#   bash .ci/layout.sh    then paste the output over the table
set -euo pipefail
cd "$(dirname "$0")/.."

questions=$(cat <<'TABLE'
cmd/simrun|How does a person or CI run it? Flags into options, the library called, errors mapped to exit codes; one file per subcommand.
cmd/lambda|How does the coordinator run in AWS Lambda (S3 notifications, or the result API behind a function URL)?
coordinator|Who wins an upload, and how does a device learn it? The system under test: staging protocol, handler, strategies, result API, usage metering.
coordinator/scheduler|When does a scheduled event run? The self-rescheduling scheduler, its peers, the e-mail runner and its send ledger.
coordinator/smtpmail|How does the deployed scheduler send its e-mail (an SMTP client)?
billing|What does each user owe? Usage streams to byte-seconds, GB-months and bills.
region|How does a decided file reach the other regions? The cross-region replicator (deployable).
scenarios|What does a run do? The YAML schema, strict loader, validator, gate expressions, built-in scenarios.
sim|How is a run wired, and what is read back after the drain? Options, Result, Run.
sim/env|Where do S3 and Redis live? Embedded fakes, remote servers and the webhook, request counting.
sim/delivery|How does a notification reach the handler? Queue, workers, retries, dead letters, event faults; the external-coordinator feed.
sim/traffic|What do the devices do? Arrivals, staging, push, polls, the first-poll estimator, follow-on edits, shards.
sim/fault|What breaks, when, and does this environment allow it?
sim/measure|What did the run measure? Recorder, memory sampling, saturation, the harness's own use; replaying a history.
sim/selftest|Can the gates fail? Mutants, guard mutants, the naive handler.
sim/bench|How fast are the fakes themselves? Operation rates, the reference pipeline.
sim/workload|What is planned, from the seed? Streams, distributions, the plan and its hash.
sim/history|What was recorded? history.jsonl records, the streaming writer, the reader.
sim/checker|Did the history keep every invariant? Invariants 1-15 and linearizability.
sim/regions|How does a multi-region run go? A coordinator, S3 and Redis per region, the WAN, replication.
sim/schedsim|How does the scheduler behave over days? Virtual clock, fake minute-resolution timer rule, scheduler runs.
sim/usage|What is stored and metered after the drain? Listed bytes, meters, usage streams.
sim/mailbox|Where does the e-mail arrive? Embedded SMTP server with faults, the Mailpit reader.
sim/metrics|What does Prometheus see during a run? The harness's collectors.
report|What is the verdict, and how is it shown? Aggregation, gates, text, JSON, Prometheus, plots, HTML, JUnit, comparison, merge, sweep.
report/killmatrix|Was every mutant caught, and did the real system pass? The self-test's kill matrix.
model|What would the deployed pipeline do at scale? The capacity-planning model in virtual time.
profiles|What latencies and limits does the model assume? Dated profiles, each figure with its source.
deploy/k8s|How does a distributed run deploy? The Kubernetes manifests, strictly decoded.
internal/syncx|How do goroutines stop? Bounded parallel loop, sleep with a context, HTTP servers whose Close waits.
internal/inproc|How do the run's clients reach the embedded fakes without the kernel? An http.RoundTripper into a handler, an in-memory net.Conn pair.
internal/memredis|How are Lua scripts fast on miniredis? Cached script states.
internal/objstore|How does the embedded S3 store bytes and take requests? Copy-on-write blobs, the lifecycle rule, the gofakes3 endpoint.
internal/connect|How do server flags and the environment become clients? Redis options, AWS configuration.
internal/s3endpoint|How does an S3 client resolve an endpoint once per bucket, not per call? A cache in front of the SDK's endpoint rules.
internal/s3out|How does a run folder live in S3? Streaming the history, uploading and fetching folders.
internal/yamlconf|How is YAML read? Strictly, with errors naming file, line and field.
internal/jsonschema|What is a JSON Schema of a Go type, and does a document meet it?
internal/contract|What are the schemas of results.json and history.jsonl?
internal/testsrv|What servers do tests start? redis-server, versitygw, the fake S3, endpoints never to reach.
TABLE
)

declare -A q
while IFS='|' read -r pkg question; do q[$pkg]=$question; done <<<"$questions"
status=0
# third_party/ holds pinned forks of dependencies (each with its STORMSIM.md),
# not packages of this project.
mapfile -t pkgs < <(git ls-files '*.go' | grep -v '_test\.go$' | grep -v '^third_party/' | xargs -n1 dirname | sort -u)
for p in "${pkgs[@]}"; do
  [ -n "${q[$p]:-}" ] || { echo "layout: package $p has no question in .ci/layout.sh" >&2; status=1; }
done
echo "| package | the question it answers | lines | files |"
echo "|---|---|---:|---:|"
total=0
while IFS='|' read -r pkg question; do
  if ! printf '%s\n' "${pkgs[@]}" | grep -qx "$pkg"; then
    echo "layout: $pkg is listed in .ci/layout.sh but has no Go files" >&2; status=1; continue
  fi
  files=$(git ls-files "$pkg/*.go" | grep -v '_test\.go$' | grep -E "^$pkg/[^/]+\.go$")
  lines=$(echo "$files" | xargs cat | wc -l)
  total=$((total + lines))
  echo "| \`$pkg/\` | $question | $lines | $(echo "$files" | wc -l) |"
done <<<"$questions"
echo "| | all packages | $total | |"
exit $status
