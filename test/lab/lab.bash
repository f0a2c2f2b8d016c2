# Shared by the lab scripts (sourced): pass/fail lines, and a teardown that leaves no namespace or
# process behind.

failures=0

# check WHAT COMMAND…: runs the command quietly and prints one ok or FAIL line.
check() {
  local what=$1
  shift
  if "$@" >/dev/null 2>&1; then echo "ok   $what"; else echo "FAIL $what"; failures=$((failures + 1)); fi
}

# drop_namespaces NS…: stops every process in the namespaces (TERM, then KILL), then deletes them.
drop_namespaces() {
  local ns pid i alive
  for ns in "$@"; do
    ip netns list | grep -qw "$ns" || continue
    for pid in $(ip netns pids "$ns"); do kill "$pid" 2>/dev/null || true; done
  done
  # A moment (at most 2 s) to exit cleanly: nginx and wireguard-go remove their sockets.
  for ((i = 0; i < 20; i++)); do
    alive=0
    for ns in "$@"; do ip netns list | grep -qw "$ns" && [[ -n $(ip netns pids "$ns") ]] && alive=1; done
    ((alive)) || break
    sleep 0.1
  done
  for ns in "$@"; do
    ip netns list | grep -qw "$ns" || continue
    for pid in $(ip netns pids "$ns"); do kill -KILL "$pid" 2>/dev/null || true; done
    ip netns del "$ns"
  done
}
