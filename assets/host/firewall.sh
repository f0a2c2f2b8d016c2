#!/usr/bin/env bash
# Applies the nftables ruleset in $NEXT so that it can never lock the operator out: nft checks it
# first, the running ruleset is saved, and a timer puts it back after $ROLLBACK_SECONDS unless
# firewall-confirm.sh (run over a new SSH connection) stops it. Boot keeps loading $ACTIVE, the
# last confirmed ruleset, until then.
#   usage: sudo NEXT=/etc/infernus/firewall.next.nft ACTIVE=/etc/infernus/firewall.nft ROLLBACK_SECONDS=120 ./firewall.sh
set -Eeuo pipefail
# shellcheck source=assets/lib.sh
[[ -v INFERNUS_LIB ]] || source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
: "${NEXT:?} ${ACTIVE:?} ${ROLLBACK_SECONDS:?}"
need_root

# netbase: /etc/protocols, where nft looks up the protocol names the ruleset uses (ipv6-icmp).
apt_install nftables netbase
if ! check=$(nft -c -f "$INFERNUS_ROOT$NEXT" 2>&1); then
  refuse "nft rejected $NEXT, so the running firewall stays: ${check//$'\n'/ }"
fi

state=$INFERNUS_ROOT/run/infernus
mkdir -p "$state"
rollback=$state/firewall.rollback.nft
{
  echo "table inet infernus"
  echo "delete table inet infernus"
  nft list table inet infernus 2>/dev/null || true
} >"$rollback"

unit=infernus-firewall-rollback
systemctl stop "$unit.timer" "$unit.service" 2>/dev/null || true
systemctl reset-failed "$unit.timer" "$unit.service" 2>/dev/null || true
pending=$state/firewall.pending
sha256sum "$INFERNUS_ROOT$NEXT" | cut -d' ' -f1 >"$pending"
systemd-run --quiet --unit="$unit" --on-active="$ROLLBACK_SECONDS" /bin/sh -c "nft -f '$rollback' && rm -f '$pending'"
nft -f "$INFERNUS_ROOT$NEXT"
systemctl enable --quiet nftables
log "firewall applied; it rolls back in ${ROLLBACK_SECONDS}s unless a new SSH connection confirms it"
