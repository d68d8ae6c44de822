# Sourced by .ci/real-servers.sh and .ci/mailpit.sh: loopback ports for the
# real servers they start.

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
