#!/usr/bin/env bash
# Applies the GPU power limits now and at every boot (nvidia-smi -pl does not survive a reboot)
# through the infernus-gpu-power oneshot unit. With LIMITS=0 (none declared) the unit goes away.
#   usage: sudo UNIT=infernus-gpu-power.service LIMITS=1 ./gpu-power.sh
set -Eeuo pipefail
# shellcheck source=assets/lib.sh
[[ -v INFERNUS_LIB ]] || source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
: "${UNIT:?set UNIT, e.g. infernus-gpu-power.service} ${LIMITS:?set LIMITS to 1 when a limit is declared, else 0}"
need_root

unit=$INFERNUS_ROOT/etc/systemd/system/$UNIT
if [[ $LIMITS == 1 ]]; then
  systemctl daemon-reload
  systemctl enable --quiet "$UNIT"
  systemctl restart "$UNIT"
  log "power limits applied: $(nvidia-smi --query-gpu=index,power.limit --format=csv,noheader | paste -sd' ')"
elif [[ -f $unit ]]; then
  systemctl disable --quiet "$UNIT"
  rm -f "$unit"
  systemctl daemon-reload
  log "no power limit declared any more: the cards return to their defaults at the next boot"
else
  log "no power limit declared: the cards keep their defaults"
fi
