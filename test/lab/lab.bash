# Shared by the lab scripts (sourced): pass/fail lines, retries, veth plugs, and a teardown that
# leaves no namespace or process behind.

# shellcheck disable=SC2154 # lab, every namespace's prefix, is set by the script that sources this file
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

now_ms() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); }

# until_ok SECONDS COMMAND…: retries the command every 0.1 s, for at most SECONDS.
until_ok() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || return 1
    sleep 0.1
  done
}

# equals EXPECTED COMMAND…: whether the command prints EXPECTED (run anew on every retry).
equals() { [[ $("${@:2}") == "$1" ]]; }

# add_namespaces NAME…: a namespace "$lab-NAME" each, loopback up.
add_namespaces() {
  local name
  for name in "$@"; do
    ip netns add "$lab-$name"
    ip -n "$lab-$name" link set lo up
  done
}

# add_switches NAME…: a bridge br0 in each of these namespaces, for plug.
add_switches() {
  local name
  for name in "$@"; do
    ip -n "$lab-$name" link add br0 type bridge
    ip -n "$lab-$name" link set br0 up
  done
}

ports=0
# plug HOST IFNAME SWITCH ADDRESS/PREFIX: a veth from HOST's namespace into the bridge in SWITCH's
# (the namespaces are "$lab-HOST"; the script sets lab).
plug() {
  local host=$1 ifname=$2 switch=$3 address=$4
  ports=$((ports + 1))
  ip link add "$lab-a$ports" type veth peer name "$lab-b$ports"
  ip link set "$lab-a$ports" netns "$lab-$host"
  ip link set "$lab-b$ports" netns "$lab-$switch"
  ip -n "$lab-$host" link set "$lab-a$ports" name "$ifname"
  ip -n "$lab-$host" addr add "$address" dev "$ifname"
  ip -n "$lab-$host" link set "$ifname" up
  ip -n "$lab-$switch" link set "$lab-b$ports" master br0 up
}

# home_router LAN_CIDR: the "$lab-router" namespace forwards, and masquerades the LAN out of wan.
home_router() {
  ip netns exec "$lab-router" sysctl -qw net.ipv4.ip_forward=1
  ip netns exec "$lab-router" nft -f - <<EOF
table ip lab_home {
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		ip saddr $1 oifname "wan" masquerade
	}
}
EOF
}
