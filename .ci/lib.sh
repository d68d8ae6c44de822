# Sourced by .ci/real-servers.sh and .ci/mailpit.sh: building the real
# servers they start from the Go module proxy, loopback ports for them, and
# stopping them. The sourcing script defines say().

# TOOLS is where the servers are built (.ci/run points the tests there).
TOOLS="${STORMSIM_TOOLS:-${HOME:-/tmp}/.cache/stormsim/tools}"

# go_install_tool NAME VERSION PACKAGE BIN WITHOUT installs PACKAGE@VERSION
# so that BIN (in its own folder under TOOLS) is the binary, unless it is
# there already. A failed build is reported with WITHOUT (what happens
# instead) and the last lines of its log, and leaves no binary: the steps
# that need it skip.
go_install_tool() {
  local name=$1 version=$2 pkg=$3 bin=$4 without=$5
  if [ -x "$bin" ]; then
    say "$name $version already at $bin"
    return 0
  fi
  mkdir -p "$(dirname "$bin")"
  say "building $name $version from the Go module proxy"
  local t0=$SECONDS log="$TOOLS/$name-build.log"
  if GOFLAGS= GOBIN="$(dirname "$bin")" timeout 900 go install "$pkg@$version" >"$log" 2>&1; then
    say "$name built in $((SECONDS - t0))s"
  else
    say "$name $version did not install; $without. Last lines:"
    tail -5 "$log" | sed 's/^/  /'
    rm -f "$bin"
  fi
}

# pids are the servers started; cleanup (trap it on EXIT) stops them.
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
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
