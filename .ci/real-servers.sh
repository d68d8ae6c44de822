#!/usr/bin/env bash
# Real servers: scenarios/ci.yaml against Debian's redis-server and
# versitygw (an S3-compatible gateway, posix backend in a temporary folder),
# both on loopback ports. On this path the S3 notifications come from
# versitygw itself (--event-webhook-url, posted to simrun's loopback
# webhook), not from the harness's wrapper.
#
#   .ci/real-servers.sh install   apt-get redis-server s3cmd; go install versitygw
#   .ci/real-servers.sh run       the run, then `simrun check` on its history
#   .ci/real-servers.sh readme    the README's versitygw recipe, run literally
#                                 in a clean clone of HEAD (ports 6379, 7070, 7071)
#
# Only a real test failure fails (exit 1): an invariant violated, or the
# run not working at all. A tool that cannot be installed or started is
# reported and skipped (exit 0).
set -uo pipefail
cd "$(dirname "$0")/.."
. .ci/lib.sh

VGW_VERSION=v1.8.0
VGW="$TOOLS/versitygw-$VGW_VERSION/versitygw"

say() { echo "real-servers: $*"; }

install() {
  if ! command -v redis-server >/dev/null 2>&1 || ! command -v s3cmd >/dev/null 2>&1; then
    if command -v apt-get >/dev/null 2>&1; then
      (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server s3cmd >/dev/null) \
        || say "apt-get install redis-server s3cmd failed; tests that need them will skip"
    else
      say "no apt-get; redis-server and s3cmd tests will skip"
    fi
  fi
  go_install_tool versitygw "$VGW_VERSION" github.com/versity/versitygw/cmd/versitygw "$VGW" \
    "the S3 side will use the embedded fake"
}

run() {
  if ! command -v redis-server >/dev/null 2>&1; then
    say "SKIP: redis-server is not installed"
    return 0
  fi
  local work; work=$(mktemp -d)
  trap cleanup EXIT
  say "building simrun"
  go build -o "$work/simrun" ./cmd/simrun || { say "FAIL: simrun does not build"; return 1; }

  local rport; rport=$(free_port) || { say "SKIP: no free port"; return 0; }
  redis-server --port "$rport" --bind 127.0.0.1 --save '' --appendonly no >"$work/redis.log" 2>&1 &
  pids+=($!)
  if ! wait_tcp "$rport" 20; then
    say "SKIP: redis-server did not start:"; tail -5 "$work/redis.log"; return 0
  fi
  say "redis-server $(redis-server --version | awk '{print $3}') on 127.0.0.1:$rport"
  local args=(--redis "redis://127.0.0.1:$rport")

  local sport hport vgw=""
  if [ -x "$VGW" ]; then
    sport=$(free_port "$rport") && hport=$(free_port "$rport" "$sport") && vgw=yes
  else
    say "versitygw not installed: the S3 side stays embedded (gofakes3)"
  fi
  if [ -n "$vgw" ]; then
    export AWS_ACCESS_KEY_ID=stormsim-ci AWS_SECRET_ACCESS_KEY=stormsim-ci-secret AWS_REGION=us-east-1 \
      AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
    args+=(--s3 "http://127.0.0.1:$sport" --bucket stormsim-ci --webhook "127.0.0.1:$hport" --s3-wait 120s)
  fi

  local t0=$SECONDS
  "$work/simrun" "${args[@]}" --out "$work/run" scenarios/ci.yaml &
  local spid=$!
  if [ -n "$vgw" ]; then
    # versitygw posts a test event to its webhook at start and exits if
    # nothing listens, so it starts once simrun's webhook is up.
    if ! wait_tcp "$hport" 60; then
      kill "$spid" 2>/dev/null; wait "$spid" 2>/dev/null
      say "FAIL: simrun's webhook did not come up on 127.0.0.1:$hport"; return 1
    fi
    mkdir -p "$work/s3data"
    echo '{"s3:ObjectCreated:Put": true, "s3:ObjectCreated:CompleteMultipartUpload": true}' >"$work/filter.json"
    ROOT_ACCESS_KEY=$AWS_ACCESS_KEY_ID ROOT_SECRET_KEY=$AWS_SECRET_ACCESS_KEY \
      "$VGW" --quiet --port "127.0.0.1:$sport" --event-webhook-url "http://127.0.0.1:$hport/events" \
      --event-filter "$work/filter.json" posix "$work/s3data" >"$work/versitygw.log" 2>&1 &
    pids+=($!)
    if ! wait_tcp "$sport" 60; then
      kill "$spid" 2>/dev/null; wait "$spid" 2>/dev/null
      say "SKIP: versitygw did not start:"; tail -5 "$work/versitygw.log"; return 0
    fi
    say "versitygw $VGW_VERSION (posix, $work/s3data) on 127.0.0.1:$sport, notifications to 127.0.0.1:$hport"
  fi
  wait "$spid"
  local rc=$?
  say "simrun exited $rc after $((SECONDS - t0))s"

  case $rc in
    0) ;;
    1|3)
      # A gate or the verdict failed: the history decides whether that is
      # a correctness failure. ci.yaml's latency and poll gates are tuned
      # for the embedded fakes; versitygw shares the same 2 cores with the
      # harness and Redis, so missing them here is reported, not failed.
      say "re-checking the history"
      if ! "$work/simrun" check "$work/run"; then
        say "FAIL: invariants violated against real servers (history in $work/run)"
        return 1
      fi
      say "invariants hold; the run missed only gates tuned for the embedded fakes (verdict above)"
      ;;
    *)
      say "FAIL: simrun exited $rc"
      return 1
      ;;
  esac
  if [ -n "$vgw" ] && [ -e "$work/s3data/stormsim-ci" ]; then
    say "FAIL: the run's bucket is still there after cleanup:"; find "$work/s3data/stormsim-ci" | head
    return 1
  fi
  local keys; keys=$(redis-cli -p "$rport" --scan --pattern 'stormsim:*' 2>/dev/null | wc -l)
  if [ "$keys" != 0 ]; then
    say "FAIL: $keys keys of the run left in Redis after cleanup"
    return 1
  fi
  say "ok (run removed its keys and objects)"
  rm -rf "$work"
}

# readme runs the README's versitygw block as a new user would: in a fresh
# clone of HEAD, with only redis-server started beside it, on the fixed
# ports the README names. It fails when the recipe does not work: simrun
# never got versitygw's notifications, exited with a code other than 0, 1
# or 3, or wrote no results. What the run found is reported, not judged
# here: `run` above judges the invariants against the same servers (on a
# loaded machine, uploads still undecided when their devices stop waiting
# show as violations of nothing-dropped and cleanliness).
readme() {
  for tool in redis-server curl git; do
    command -v "$tool" >/dev/null 2>&1 || { say "SKIP readme: $tool is not installed"; return 0; }
  done
  for p in 6379 7070 7071; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      say "SKIP readme: port $p is taken (the README's recipe uses fixed ports)"; return 0
    fi
  done
  local work; work=$(mktemp -d)
  trap cleanup EXIT
  git clone -q "$PWD" "$work/repo" || { say "FAIL: git clone"; return 1; }
  awk '/^# from the repository.s root, with redis-server/{f=1} f&&/^```$/{exit} f' README.md >"$work/recipe.sh"
  if [ ! -s "$work/recipe.sh" ]; then say "FAIL: no versitygw recipe found in README.md"; return 1; fi
  redis-server --port 6379 --bind 127.0.0.1 --save '' --appendonly no >"$work/redis.log" 2>&1 &
  pids+=($!)
  wait_tcp 6379 20 || { say "SKIP readme: redis-server did not start"; return 0; }
  say "running the README's versitygw recipe in $work/repo"
  # A new user's shell: no GOFLAGS, no AWS settings beyond the recipe's.
  (cd "$work/repo" && env -u GOFLAGS -u AWS_PROFILE -u AWS_CONFIG_FILE -u AWS_SHARED_CREDENTIALS_FILE \
    timeout 1800 bash "$work/recipe.sh") >"$work/recipe.log" 2>&1
  local code; code=$(sed -n 's/^simrun exit \([0-9]*\)$/\1/p' "$work/recipe.log" | tail -1)
  if ! grep -q "webhook listening at" "$work/recipe.log" ||
     ! grep -Eq "webhook got [1-9][0-9]* requests, [0-9]+ records, passed on [1-9]" "$work/recipe.log"; then
    say "FAIL: the recipe did not deliver versitygw's notifications to simrun:"; tail -20 "$work/recipe.log"; return 1
  fi
  case $code in
    0|1|3) ;;
    *) say "FAIL: simrun exited '${code}' in the README recipe:"; tail -20 "$work/recipe.log"; return 1 ;;
  esac
  local run; run=$(ls -d "$work/repo"/runs/ci-* 2>/dev/null | head -1)
  if [ -z "$run" ] || [ ! -s "$run/results.json" ]; then
    say "FAIL: the README recipe's run wrote no results.json"; tail -20 "$work/recipe.log"; return 1
  fi
  grep -A12 '^verdict:' "$work/recipe.log" | sed 's/^/  /'
  say "ok: the README recipe works (simrun exit $code; the verdict above is the run's)"
  rm -rf "$work"
}

case "${1:-}" in
  install) install ;;
  run) run ;;
  readme) readme ;;
  *) echo "usage: $0 install|run|readme" >&2; exit 2 ;;
esac
