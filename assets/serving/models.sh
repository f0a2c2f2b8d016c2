#!/usr/bin/env bash
# Starts the download of every declared model that is not complete yet, in the background: each
# is a systemd job that resumes after a dropped link, so hours of downloading never hold up
# `pulumi up`. Progress: `infernus-models` on the server, or journalctl -u 'infernus-fetch-*'.
#   usage: sudo MODELS_LIST=/etc/infernus/models.list TIKTOKEN=1 ./models.sh
set -Eeuo pipefail
# shellcheck source=assets/lib.sh
[[ -v INFERNUS_LIB ]] || source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
: "${MODELS_LIST:?}"
TIKTOKEN=${TIKTOKEN:-0}
need_root

systemctl daemon-reload
started=0
while read -r name _repo _bytes dir _port; do
  [[ -n $name ]] || continue
  unit=infernus-fetch-$name.service
  systemctl enable --quiet "$unit"
  if [[ -f $INFERNUS_ROOT$dir/.infernus-complete ]]; then
    log "$name: weights complete in $dir"
  elif systemctl is-active --quiet "$unit"; then
    log "$name: downloading (journalctl -u $unit)"
  else
    systemctl start --no-block "$unit"
    started=$((started + 1))
    log "$name: download started (journalctl -u $unit)"
  fi
done <"$INFERNUS_ROOT$MODELS_LIST"
if [[ $TIKTOKEN == 1 ]]; then
  systemctl enable --quiet infernus-fetch-tiktoken.service
  systemctl start --no-block infernus-fetch-tiktoken.service
fi
log "$started download(s) started"
