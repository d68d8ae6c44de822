#!/usr/bin/env bash
# Mailpit: scenarios/email-day.yaml with its e-mails sent to a real SMTP
# server, Mailpit, and read back through Mailpit's HTTP API (issue 18).
#
#   .ci/mailpit.sh install   go install mailpit from the Go module proxy
#   .ci/mailpit.sh run       start it on free loopback ports (< 32768), run
#                            the scenario against it, `simrun check` the
#                            history, stop it
#
# Only a real test failure fails (exit 1): an invariant or gate broken, or
# the run not working at all. A Mailpit that cannot be installed or
# started is reported and skipped (exit 0).
set -uo pipefail
cd "$(dirname "$0")/.."
. .ci/lib.sh

MAILPIT_VERSION=v1.33.1
MAILPIT="$TOOLS/mailpit-$MAILPIT_VERSION/mailpit"

say() { echo "mailpit: $*"; }

install() {
  go_install_tool mailpit "$MAILPIT_VERSION" github.com/axllent/mailpit "$MAILPIT" "the Mailpit run will skip"
}

run() {
  if [ ! -x "$MAILPIT" ]; then
    say "SKIP: mailpit is not installed (.ci/mailpit.sh install)"
    return 0
  fi
  local work; work=$(mktemp -d)
  trap cleanup EXIT
  go build -o "$work/simrun" ./cmd/simrun || { say "FAIL: simrun does not build"; return 1; }
  local sport hport
  sport=$(free_port) && hport=$(free_port "$sport") || { say "SKIP: no free port"; return 0; }
  "$MAILPIT" --smtp "127.0.0.1:$sport" --listen "127.0.0.1:$hport" --database "$work/mailpit.db" \
    --max 0 --smtp-disable-rdns >"$work/mailpit.log" 2>&1 &
  pids+=($!)
  if ! wait_tcp "$sport" 30 || ! wait_tcp "$hport" 30; then
    say "SKIP: mailpit did not start:"; tail -5 "$work/mailpit.log"; return 0
  fi
  say "mailpit $MAILPIT_VERSION: smtp 127.0.0.1:$sport, api http://127.0.0.1:$hport"
  local rc=0
  "$work/simrun" --quiet --smtp "127.0.0.1:$sport" --smtp-api "http://127.0.0.1:$hport" \
    --out "$work/email-day" scenarios/email-day.yaml || rc=$?
  if [ "$rc" -ne 0 ]; then
    say "FAIL: simrun exited $rc against Mailpit"
    [ -f "$work/email-day/history.jsonl" ] && "$work/simrun" check "$work/email-day"
    return 1
  fi
  "$work/simrun" check "$work/email-day" >/dev/null || { say "FAIL: simrun check"; return 1; }
  local got; got=$(curl -fsS "http://127.0.0.1:$hport/api/v1/messages?limit=1" 2>/dev/null | grep -o '"total":[0-9]*' || true)
  say "ok: email-day passed against Mailpit (${got:-total unknown})"
}

case "${1:-}" in
  install) install ;;
  run) run ;;
  *) echo "usage: $0 install|run" >&2; exit 2 ;;
esac
