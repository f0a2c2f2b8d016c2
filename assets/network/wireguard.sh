#!/usr/bin/env bash
# Brings up the WireGuard interface $IFACE from /etc/wireguard/$IFACE.conf and applies later
# changes without dropping the tunnel: peers and keys through `wg syncconf`, a restart only when
# the interface's own address or MTU changed.
#   usage: sudo IFACE=wg0 ./wireguard.sh
set -Eeuo pipefail
# shellcheck source=assets/lib.sh
[[ -v INFERNUS_LIB ]] || source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
: "${IFACE:?set IFACE, e.g. IFACE=wg0}"
need_root

conf=$INFERNUS_ROOT/etc/wireguard/$IFACE.conf
[[ -f $conf ]] || refuse "WireGuard: $conf is missing; it is written by 'pulumi up' (npm run up)"
apt_install wireguard-tools nftables
chmod 600 "$conf"

forwarding=$INFERNUS_ROOT/etc/sysctl.d/60-infernus-forwarding.conf
if [[ -f $forwarding ]]; then
  sysctl -q -p "$forwarding"
fi

# The [Interface] values that `wg syncconf` cannot change.
wanted_address=$(awk -F' *= *' '$1 == "Address" { print $2 }' "$conf")
wanted_mtu=$(awk -F' *= *' '$1 == "MTU" { print $2 }' "$conf")
unit=wg-quick@$IFACE

if ! systemctl is-active --quiet "$unit"; then
  systemctl enable --now "$unit"
  log "$IFACE up"
elif [[ $(ip -o -4 addr show dev "$IFACE" | awk '{ print $4 }') != "$wanted_address" ||
  $(ip -o link show dev "$IFACE" | sed -n 's/.* mtu \([0-9]*\).*/\1/p') != "$wanted_mtu" ]]; then
  systemctl restart "$unit"
  log "$IFACE restarted for its new address or MTU"
else
  wg syncconf "$IFACE" <(wg-quick strip "$conf")
  # PostUp runs only at start: re-apply the full-tunnel NAT (the file replaces its table whole).
  nat=$INFERNUS_ROOT/etc/wireguard/$IFACE-nat.nft
  if [[ -f $nat ]]; then nft -f "$nat"; fi
  log "$IFACE peers in line with $conf"
fi
systemctl enable --quiet "$unit"
log "$(wg show "$IFACE" peers | wc -l) peer(s) on $IFACE"
