#!/usr/bin/env bats
# assets/network/wireguard.sh against stubbed apt, systemd, iproute2 and wg.
# shellcheck disable=SC2016 # stub bodies are single-quoted: they expand when the stub runs

setup() {
  load stubs
  setup_stubs
  export IFACE=wg0 LIVE_ADDRESS=10.66.0.135/24 LIVE_MTU=1420 ACTIVE=0 INSTALLED=1
  stub dpkg-query '[[ $INSTALLED == 1 ]] && echo "install ok installed"; exit 0'
  stub apt-get
  stub sysctl
  stub nft
  stub systemctl 'if [[ $1 == is-active ]]; then [[ $ACTIVE == 1 ]]; fi'
  stub ip 'if [[ $* == *addr* ]]; then echo "5: wg0    inet $LIVE_ADDRESS scope global wg0"; else echo "5: wg0: <POINTOPOINT,NOARP,UP,LOWER_UP> mtu $LIVE_MTU qdisc noqueue state UNKNOWN"; fi'
  stub wg 'if [[ $1 == show ]]; then printf "peerA\npeerB\n"; fi'
  stub wg-quick 'cat "$2"'
  put /etc/wireguard/wg0.conf $'[Interface]\nAddress = 10.66.0.135/24\nMTU = 1420\nPrivateKey = x\n'
}

script=$BATS_TEST_DIRNAME/../../assets/network/wireguard.sh

@test "refuses with the fix when the config is missing" {
  rm "$INFERNUS_ROOT/etc/wireguard/wg0.conf"
  run bash "$script"
  [ "$status" -eq 1 ]
  [[ $output == *"refused: WireGuard: $INFERNUS_ROOT/etc/wireguard/wg0.conf is missing; it is written by 'pulumi up'"* ]]
  not_called systemctl
}

@test "refuses without IFACE" {
  unset IFACE
  run bash "$script"
  [ "$status" -ne 0 ]
  [[ $output == *"set IFACE, e.g. IFACE=wg0"* ]]
}

@test "first run installs WireGuard and enables the interface" {
  INSTALLED=0 run bash "$script"
  [ "$status" -eq 0 ]
  called "apt-get -o DPkg::Lock::Timeout=300 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold install -y -qq --no-install-recommends wireguard-tools nftables"
  called "systemctl enable --now wg-quick@wg0"
  [[ $output == *"wg0 up"* ]]
  [[ $output == *"2 peer(s) on wg0"* ]]
}

@test "a second run changes nothing: no install, no restart, peers synced in place" {
  ACTIVE=1 run bash "$script"
  [ "$status" -eq 0 ]
  not_called apt-get
  not_called "enable --now"
  not_called restart
  called "wg syncconf wg0 /dev/fd/63"
}

@test "a new address restarts the interface" {
  ACTIVE=1 LIVE_ADDRESS=10.66.0.99/24 run bash "$script"
  [ "$status" -eq 0 ]
  called "systemctl restart wg-quick@wg0"
  not_called syncconf
}

@test "a new MTU restarts the interface" {
  ACTIVE=1 LIVE_MTU=1412 run bash "$script"
  [ "$status" -eq 0 ]
  called "systemctl restart wg-quick@wg0"
}

@test "the hub applies forwarding and re-applies full-tunnel NAT" {
  put /etc/sysctl.d/60-infernus-forwarding.conf "net.ipv4.ip_forward = 1"
  put /etc/wireguard/wg0-nat.nft "table ip t {}"
  ACTIVE=1 run bash "$script"
  [ "$status" -eq 0 ]
  called "sysctl -q -p $INFERNUS_ROOT/etc/sysctl.d/60-infernus-forwarding.conf"
  called "nft -f $INFERNUS_ROOT/etc/wireguard/wg0-nat.nft"
}

@test "a spoke sets no forwarding" {
  ACTIVE=1 run bash "$script"
  not_called "sysctl -q"
  not_called "nft -f"
}
