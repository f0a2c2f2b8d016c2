#!/usr/bin/env bash
# Runs one app's containers: podman from Ubuntu's archive (no daemon, and no published ports that
# would bypass nftables), the pinned images pulled here rather than at boot, the data folder owned
# by the image's user, Perplexica's provider entry merged into its config.json (the user's own
# settings stay), then the units restarted and the app answering on its tunnel address.
#   usage: sudo UNITS="infernus-search-searxng infernus-search" IMAGES="docker.io/a:1 docker.io/b:2" \
#            DATA_DIR=/srv/state/search DATA_UID=0 HEALTH=http://10.66.0.2:3000/ \
#            [PROVIDER=/etc/infernus/apps/search.provider.json SEARXNG_URL=http://127.0.0.1:8888] \
#            [HEALTH_SECONDS=300] ./app.sh
set -Eeuo pipefail
# shellcheck source=assets/lib.sh
[[ -v INFERNUS_LIB ]] || source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
: "${UNITS:?} ${IMAGES:?} ${DATA_DIR:?} ${DATA_UID:?} ${HEALTH:?}"
PROVIDER=${PROVIDER:-} SEARXNG_URL=${SEARXNG_URL:-} HEALTH_SECONDS=${HEALTH_SECONDS:-300}
need_root

apt_install podman curl ca-certificates ${PROVIDER:+jq}

data=$INFERNUS_ROOT$DATA_DIR
mkdir -p "$data"
[[ -n $INFERNUS_ROOT ]] || chown "$DATA_UID:$DATA_UID" "$data"
chmod 0750 "$data"

new_images=0
for image in $IMAGES; do
  podman image exists "$image" && continue
  new_images=1
  log "pulling $image"
  pulled=0
  for attempt in 1 2 3; do
    podman pull --quiet "$image" >/dev/null && { pulled=1; break; }
    log "pull $attempt of 3 failed"
    sleep $((attempt * 5))
  done
  ((pulled)) || refuse "could not pull $image: check that the host reaches the registry and that the image exists (apps[].image in the stack file)"
done

if [[ -n $PROVIDER ]]; then
  # Perplexica keeps its settings in config.json and writes to it from its settings page: only
  # the entry named infernus and the search URL are ours.
  config=$data/config.json
  [[ -s $config ]] || echo '{"version":1,"setupComplete":false,"preferences":{},"personalization":{},"modelProviders":[],"search":{}}' >"$config"
  jq --slurpfile ours "$INFERNUS_ROOT$PROVIDER" --arg searxng "$SEARXNG_URL" \
    '.modelProviders = ([.modelProviders[]? | select(.id != "infernus")] + $ours)
     | .search.searxngURL = $searxng | .setupComplete = true' "$config" >"$config.infernus"
  chmod 0600 "$config.infernus"
  mv -f "$config.infernus" "$config"
  [[ -n $INFERNUS_ROOT ]] || chown "$DATA_UID:$DATA_UID" "$config"
fi

systemctl daemon-reload
for unit in $UNITS; do
  systemctl enable --quiet "$unit"
  # A new image, a changed unit or config: the container starts again; nothing new, it runs on.
  if ((new_images)); then systemctl restart "$unit"; else restart_if "$unit"; fi
done

deadline=$((SECONDS + HEALTH_SECONDS))
until curl --fail --silent --max-time 5 --output /dev/null "$HEALTH"; do
  if ((SECONDS >= deadline)); then
    last=${UNITS##* }
    refuse "$HEALTH did not answer within ${HEALTH_SECONDS}s after ${last} started; see journalctl -u $last -n 50"
  fi
  sleep 3
done
log "${UNITS##* } answers at $HEALTH"
