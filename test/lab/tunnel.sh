#!/usr/bin/env bash
# The rendered tunnel on real packets: the edge (hub), gpu1 and laptop (spokes) in network
# namespaces joined by a bridge, WireGuard by wireguard-go through wg-quick, all from rendered
# files. Checks handshakes, spoke-to-spoke traffic through the hub, and that `wg syncconf` with a
# changed hub config keeps traffic flowing. Leaves no namespace or process behind.
#   usage: sudo test/lab/tunnel.sh DIR   (DIR holds edge.conf, gpu1.conf, laptop.conf, edge-next.conf,
#                                         forwarding.conf and addresses: "name address" lines)
set -Eeuo pipefail
dir=$(cd "${1:?usage: tunnel.sh DIR}" && pwd)
lab=infernus-lab-$$
net=$lab-net
hosts=(edge gpu1 laptop)
declare -A underlay=([edge]=10.250.0.1 [gpu1]=10.250.0.2 [laptop]=10.250.0.3)
declare -A tunnel
while read -r name address; do tunnel[$name]=$address; done <"$dir/addresses"
# shellcheck source=test/lab/lab.bash
source "$(dirname "${BASH_SOURCE[0]}")/lab.bash"

in_ns() { ip netns exec "$lab-$1" "${@:2}"; }

trap 'drop_namespaces "${hosts[@]/#/$lab-}" "$net"' EXIT

ip netns add "$net"
ip -n "$net" link add br0 type bridge
ip -n "$net" link set br0 up
for host in "${hosts[@]}"; do
  ns=$lab-$host
  ip netns add "$ns"
  ip link add "v-$host-$$" netns "$ns" type veth peer name "p-$host" netns "$net"
  ip -n "$ns" link set "v-$host-$$" name eth0
  ip -n "$ns" addr add "${underlay[$host]}/24" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" link set lo up
  ip -n "$net" link set "p-$host" master br0 up
  mkdir -p "$dir/$host"
  # wg-quick names the interface after the file: one name per host, as wireguard-go's control
  # sockets share /run/wireguard across namespaces. Spokes dial the edge's lab address.
  sed "s/^Endpoint = .*:/Endpoint = ${underlay[edge]}:/" "$dir/$host.conf" >"$dir/$host/lab-$host.conf"
  chmod 600 "$dir/$host/lab-$host.conf"
done
in_ns edge sysctl -q -p "$dir/forwarding.conf"
for host in "${hosts[@]}"; do
  WG_QUICK_USERSPACE_IMPLEMENTATION=wireguard-go in_ns "$host" timeout 20 wg-quick up "$dir/$host/lab-$host.conf" 2>/dev/null
done

check "gpu1 reaches the edge over the tunnel" in_ns gpu1 ping -c 3 -i 0.2 -W 2 "${tunnel[edge]}"
check "laptop reaches the edge over the tunnel" in_ns laptop ping -c 3 -i 0.2 -W 2 "${tunnel[edge]}"
check "laptop reaches gpu1 through the hub" in_ns laptop ping -c 3 -i 0.2 -W 2 "${tunnel[gpu1]}"
check "the edge has a handshake with both spokes" test "$(in_ns edge wg show lab-edge latest-handshakes | awk '$2 > 0' | wc -l)" -eq 2

# A changed hub config (a new client) is applied in place while laptop talks to gpu1.
in_ns laptop ping -c 25 -i 0.2 -W 1 "${tunnel[gpu1]}" >"$dir/ping.log" 2>&1 &
pinger=$!
sleep 1
in_ns edge bash -c "wg syncconf lab-edge <(wg-quick strip '$dir/edge-next.conf')"
check "syncconf adds the new client's peer on the edge" test "$(in_ns edge wg show lab-edge peers | wc -l)" -eq 3
wait "$pinger" || true
lost=$(sed -n 's/.* \([0-9.]*\)% packet loss.*/\1/p' "$dir/ping.log")
echo "info packets lost across syncconf: ${lost:-?}%"
check "no packet lost while the hub config changed" test "${lost:-100}" = 0

echo "$failures failed"
exit $((failures > 0))
