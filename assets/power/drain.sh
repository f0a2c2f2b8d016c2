#!/usr/bin/env bash
# infernus-drain: upsmon's SHUTDOWNCMD on low battery. Stops serving cleanly (vLLM frees the GPU),
# takes a last snapshot of every irreplaceable dataset, then powers off; upsmon's power-down flag
# then has the UPS cut and later restore its outlets. Runs once, however often it is called.
#   usage: infernus-drain   (reads /etc/infernus/drain.conf: SERVICES, DATASETS)
set -uo pipefail
conf=${INFERNUS_DRAIN_CONF:-/etc/infernus/drain.conf}
lock=${INFERNUS_DRAIN_LOCK:-/run/infernus-drain.lock}
say() { logger -t infernus-drain -- "$*" 2>/dev/null || true; echo "infernus-drain: $*"; }

exec 9>"$lock"
if ! flock -n 9 || [[ -e $lock.done ]]; then
  say "already draining"
  exit 0
fi
# /run empties at boot: the next power cut drains again.
touch "$lock.done"
SERVICES='' DATASETS=''
# shellcheck source=/dev/null
[[ -r $conf ]] && . "$conf"

say "power is failing: stopping ${SERVICES:-nothing}"
for service in $SERVICES; do
  timeout 60 systemctl stop "$service" || say "$service did not stop within 60 s"
done
stamp=infernus-powerfail-$(date -u +%Y%m%dT%H%M%SZ)
for dataset in $DATASETS; do
  zfs snapshot "$dataset@$stamp" || say "no snapshot of $dataset"
done
say "snapshots $stamp taken; powering off"
shutdown -h +0 "infernus: UPS battery low"
