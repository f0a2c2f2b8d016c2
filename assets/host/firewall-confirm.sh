#!/usr/bin/env bash
# Runs over a new SSH connection after firewall.sh: getting here proves the new ruleset lets the
# operator in, so the rollback timer stops and boot loads the new ruleset from now on.
#   usage: sudo NEXT=/etc/infernus/firewall.next.nft ACTIVE=/etc/infernus/firewall.nft ./firewall-confirm.sh
# (RULESET_SHA256, set by the program, only makes this step re-run whenever the ruleset changes.)
set -Eeuo pipefail
# shellcheck source=assets/lib.sh
[[ -v INFERNUS_LIB ]] || source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
: "${NEXT:?} ${ACTIVE:?}"
need_root

pending=$INFERNUS_ROOT/run/infernus/firewall.pending
if [[ ! -f $pending ]]; then
  if cmp -s "$INFERNUS_ROOT$NEXT" "$INFERNUS_ROOT$ACTIVE"; then
    log "firewall already confirmed"
    exit 0
  fi
  refuse "the firewall in $NEXT was rolled back before a new SSH connection confirmed it, so the previous one is running; check that adminCidrs holds the address you connect from, then run 'pulumi up' again"
fi
systemctl stop infernus-firewall-rollback.timer 2>/dev/null || true
install -m 0644 "$INFERNUS_ROOT$NEXT" "$INFERNUS_ROOT$ACTIVE"
rm -f "$pending"
log "firewall confirmed over a new connection; boot loads it from $ACTIVE"
