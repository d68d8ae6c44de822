#!/usr/bin/env bash
# Real servers: scenarios/ci.yaml against Debian's redis-server and
# versitygw (an S3-compatible gateway, posix backend in a temporary folder),
# both on loopback ports. On this path the S3 notifications come from
# versitygw itself (--event-webhook-url, posted to simrun's loopback
# webhook), not from the harness's wrapper.
#
#   .ci/real-servers.sh install   apt-get redis-server s3cmd; go install versitygw
#   .ci/real-servers.sh run       the run, then `simrun check` on its history
#
# Only a real test failure fails (exit 1): an invariant violated, or the
# run not working at all. A tool that cannot be installed or started is
# reported and skipped (exit 0).
set -uo pipefail
cd "$(dirname "$0")/.."

VGW_VERSION=v1.8.0
TOOLS="${STORMSIM_TOOLS:-${HOME:-/tmp}/.cache/stormsim/tools}"
VGW_DIR="$TOOLS/versitygw-$VGW_VERSION"
VGW="$VGW_DIR/versitygw"

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
  if [ -x "$VGW" ]; then
    say "versitygw $VGW_VERSION already at $VGW"
  else
    mkdir -p "$VGW_DIR"
    say "building versitygw $VGW_VERSION from the Go module proxy (about a minute)"
    local t0=$SECONDS
    if GOFLAGS= GOBIN="$VGW_DIR" timeout 900 go install "github.com/versity/versitygw/cmd/versitygw@$VGW_VERSION" >"$TOOLS/versitygw-build.log" 2>&1; then
      say "versitygw built in $((SECONDS - t0))s"
    else
      say "versitygw $VGW_VERSION did not install; the S3 side will use the embedded fake. Last lines:"
      tail -5 "$TOOLS/versitygw-build.log" | sed 's/^/  /'
      rm -f "$VGW"
    fi
  fi
}

# free_port prints a loopback port nothing listens on, other than the
# ports given. It picks below Linux's ephemeral range (32768 and up):
# a port there can be taken by any outgoing connection between this
# check and the bind (seen once in CI: "bind: address already in use").
free_port() {
  local p
  for _ in $(seq 1 100); do
    p=$((20000 + RANDOM % 12000))
    case " $* " in *" $p "*) continue ;; esac
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"
      return 0
    fi
  done
  return 1
}

# wait_tcp PORT SECONDS waits until 127.0.0.1:PORT accepts connections.
wait_tcp() {
  local end=$((SECONDS + $2))
  while [ $SECONDS -lt $end ]; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  return 1
}

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
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

case "${1:-}" in
  install) install ;;
  run) run ;;
  *) echo "usage: $0 install|run" >&2; exit 2 ;;
esac
