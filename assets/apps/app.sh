#!/usr/bin/env bash
# Runs one app's containers: podman from Ubuntu's archive (no daemon, and no published ports that
# would bypass nftables), the pinned images pulled here rather than at boot, the data folder owned
# by the image's user, Perplexica's provider entry merged into its config.json (the user's own
# settings stay), then the units restarted and the app answering on its tunnel address. After
# that: n8n's OpenAI credential imported (upserted on its id), and the app's way to the gateway
# probed from inside its container (infernus-app-probe, again every few minutes by its timer).
#   usage: sudo UNITS="infernus-search-searxng infernus-search" IMAGES="docker.io/a:1 docker.io/b:2" \
#            DATA_DIR=/srv/state/search DATA_UID=0 HEALTH=http://10.66.0.2:3000/ \
#            [PROVIDER=/etc/infernus/apps/search.provider.json SEARXNG_URL=http://127.0.0.1:8888] \
#            [CA_BUNDLE=/etc/infernus/apps/ca-bundle.crt GATEWAY_CA=/etc/infernus/apps/gateway-ca.crt] \
#            [N8N_CREDENTIAL=/etc/infernus/apps/n8n.credential.json] [PROBE=search] \
#            [HEALTH_SECONDS=300] ./app.sh
set -Eeuo pipefail
# shellcheck source=assets/lib.sh
[[ -v INFERNUS_LIB ]] || source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
: "${UNITS:?} ${IMAGES:?} ${DATA_DIR:?} ${DATA_UID:?} ${HEALTH:?}"
PROVIDER=${PROVIDER:-} SEARXNG_URL=${SEARXNG_URL:-} HEALTH_SECONDS=${HEALTH_SECONDS:-300}
CA_BUNDLE=${CA_BUNDLE:-} GATEWAY_CA=${GATEWAY_CA:-} N8N_CREDENTIAL=${N8N_CREDENTIAL:-} PROBE=${PROBE:-}
need_root

needs_jq=$PROVIDER$PROBE
apt_install podman curl ca-certificates ${needs_jq:+jq}

if [[ -n $CA_BUNDLE ]]; then
  # Python takes one file of roots: the host's (kept current by its ca-certificates) and the gateway's CA.
  # Not a pipe into install_file: in a subshell, what it records as written would be lost.
  install_file "$CA_BUNDLE" 0644 < <(cat "$INFERNUS_ROOT/etc/ssl/certs/ca-certificates.crt" "$INFERNUS_ROOT${GATEWAY_CA:?CA_BUNDLE needs GATEWAY_CA}" | base64)
fi

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

# The app's own unit comes last, after the ones it needs (its SearxNG).
main=${UNITS##* }
deadline=$((SECONDS + HEALTH_SECONDS))
until curl --fail --silent --max-time 5 --output /dev/null "$HEALTH"; do
  if ((SECONDS >= deadline)); then
    refuse "$HEALTH did not answer within ${HEALTH_SECONDS}s after ${main} started; see journalctl -u $main -n 50"
  fi
  sleep 3
done
log "$main answers at $HEALTH"

if [[ -n $N8N_CREDENTIAL ]]; then
  # n8n's own CLI in the running container, as n8n's docs do it; the file reaches it on stdin and
  # lives in the container's /tmp (gone with the container), never on the data dataset or a command line.
  podman exec -i "$main" sh -c 'f=$(mktemp) && cat >"$f" && n8n import:credentials --input="$f" >/dev/null; s=$?; rm -f "$f"; exit $s' \
    <"$INFERNUS_ROOT$N8N_CREDENTIAL" ||
    refuse "n8n did not import its OpenAI credential for the gateway; see podman exec $main n8n import:credentials --help and journalctl -u $main -n 50"
  log "$main has its OpenAI credential for the gateway"
fi

if [[ -n $PROBE ]]; then
  systemctl enable --quiet "infernus-app-probe@$PROBE.timer"
  systemctl restart "infernus-app-probe@$PROBE.timer"
  # Now, so that the self-check after this run finds it fresh; a gateway that does not answer yet is its to report.
  systemctl start "infernus-app-probe@$PROBE.service" || log "infernus-app-probe@$PROBE did not finish: journalctl -u infernus-app-probe@$PROBE"
fi
