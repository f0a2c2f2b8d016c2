#!/usr/bin/env bash
# Installs llama-swap release $LLAMA_SWAP_VERSION (checked against $LLAMA_SWAP_SHA256, or until
# that is pinned, against the release's checksums file, printing the value to pin) and (re)starts
# it with the rendered config. Each model's vLLM runs in infernus-vllm@MODEL.service, started and
# put to sleep by infernus-vllm for llama-swap (polkit lets its user do that, nothing more). No
# stream is cut: a model whose vLLM settings changed is stopped only once its requests are done,
# and llama-swap is restarted only once no model has any, each wait bounded by $DRAIN_SECONDS.
#   usage: sudo LLAMA_SWAP_VERSION=250 [LLAMA_SWAP_SHA256=…] INSTALL_DIR=/opt/infernus/llama-swap \
#            UNIT=infernus-llama-swap.service SERVICE_USER=infernus-llm CONFIG=/etc/infernus/llama-swap/config.yaml \
#            VLLM_DIR=/etc/infernus/vllm MODELS="gpt-oss-120b …" DRAIN_SECONDS=120 ./llama-swap.sh
set -Eeuo pipefail
# shellcheck source=assets/lib.sh
[[ -v INFERNUS_LIB ]] || source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
: "${LLAMA_SWAP_VERSION:?} ${INSTALL_DIR:?} ${UNIT:?} ${SERVICE_USER:?} ${CONFIG:?} ${VLLM_DIR:?} ${DRAIN_SECONDS:?}"
LLAMA_SWAP_SHA256=${LLAMA_SWAP_SHA256:-}
read -r -a models <<<"${MODELS:-}"
need_root

apt_install curl ca-certificates polkitd
chown "root:$SERVICE_USER" "$INFERNUS_ROOT$CONFIG"
chmod 0640 "$INFERNUS_ROOT$CONFIG"

dir=$INFERNUS_ROOT$INSTALL_DIR
stamp=$dir/.release
fresh=0
if [[ $(cat "$stamp" 2>/dev/null) != "$LLAMA_SWAP_VERSION" ]]; then
  asset=llama-swap_${LLAMA_SWAP_VERSION}_linux_amd64.tar.gz
  base=https://github.com/mostlygeek/llama-swap/releases/download/v$LLAMA_SWAP_VERSION
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  curl --fail --silent --show-error --location --retry 3 -o "$work/$asset" "$base/$asset"
  actual=$(sha256sum "$work/$asset" | cut -d' ' -f1)
  if [[ -n $LLAMA_SWAP_SHA256 ]]; then
    [[ $actual == "$LLAMA_SWAP_SHA256" ]] ||
      refuse "$asset has sha256 $actual, the stack file pins $LLAMA_SWAP_SHA256: not installed (a changed release, or a tampered download)"
  else
    curl --fail --silent --show-error --location --retry 3 -o "$work/checksums.txt" "$base/llama-swap_${LLAMA_SWAP_VERSION}_checksums.txt"
    grep -q "^$actual  $asset\$" "$work/checksums.txt" || refuse "$asset does not match the release's checksums file: not installed"
    log "llama-swap $LLAMA_SWAP_VERSION matches its release checksums; pin it: serving.llamaSwap.sha256: $actual"
  fi
  mkdir -p "$dir"
  tar -xzf "$work/$asset" -C "$work"
  install -m 0755 "$(find "$work" -type f -name llama-swap | head -1)" "$dir/llama-swap"
  echo "$LLAMA_SWAP_VERSION" >"$stamp"
  fresh=1
fi

systemctl daemon-reload
systemctl enable --quiet "$UNIT"
for model in "${models[@]}"; do
  # Its running vLLM has the old arguments: the next start takes the new ones.
  if changed "$VLLM_DIR/$model.args" "$VLLM_DIR/$model.env" "$VLLM_DIR/$model.conf" && systemctl is-active --quiet "infernus-vllm@$model.service"; then
    infernus-vllm stop "$model"
    log "$model: stopped after its requests, to start with its new settings"
  fi
done
# A restart ends every stream through llama-swap: only for a new release, a changed config or unit,
# or when it is down; and first every model drains, then sleeps, so the new llama-swap finds the
# card free and its preload wakes the first set.
if ((fresh)) || changed "$CONFIG" "/etc/systemd/system/$UNIT" || ! systemctl is-active --quiet "$UNIT"; then
  for model in "${models[@]}"; do infernus-vllm drain "$model"; done
  for model in "${models[@]}"; do infernus-vllm park "$model"; done
  systemctl restart "$UNIT"
fi
log "llama-swap $LLAMA_SWAP_VERSION serving the models in $CONFIG"
