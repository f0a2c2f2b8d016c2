#!/usr/bin/env bash
# vLLM $VLLM_VERSION in a uv-managed virtualenv at $VENV, run by the unprivileged service user.
# The wheels bring their own CUDA runtime: the host needs only the driver. Reinstalls only when
# the version differs.
#   usage: sudo VLLM_VERSION=0.21.0 UV_VERSION=0.9.5 VENV=/opt/infernus/vllm SERVICE_USER=infernus-llm MODELS_DIR=/srv/models ./vllm-runtime.sh
set -Eeuo pipefail
# shellcheck source=assets/lib.sh
[[ -v INFERNUS_LIB ]] || source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
: "${VLLM_VERSION:?} ${UV_VERSION:?} ${VENV:?} ${SERVICE_USER:?} ${MODELS_DIR:?}"
need_root

apt_install python3 python3-venv curl ca-certificates
if ! id "$SERVICE_USER" >/dev/null 2>&1; then
  useradd --system --home-dir "/var/lib/$SERVICE_USER" --create-home --shell /usr/sbin/nologin "$SERVICE_USER"
fi
install -d -o "$SERVICE_USER" -g "$SERVICE_USER" -m 0755 "$INFERNUS_ROOT$MODELS_DIR"

uv_dir=$(dirname "$VENV")/uv
if [[ $("$uv_dir/bin/uv" --version 2>/dev/null) != "uv $UV_VERSION"* ]]; then
  python3 -m venv "$uv_dir"
  "$uv_dir/bin/pip" install --quiet "uv==$UV_VERSION"
fi
if [[ $("$VENV/bin/vllm" --version 2>/dev/null) != "$VLLM_VERSION" ]]; then
  log "installing vLLM $VLLM_VERSION (several GB)"
  "$uv_dir/bin/uv" venv --quiet --allow-existing --python 3.12 "$VENV"
  "$uv_dir/bin/uv" pip install --quiet --python "$VENV/bin/python" "vllm==$VLLM_VERSION" --torch-backend=auto
fi
installed=$("$VENV/bin/vllm" --version 2>/dev/null || true)
[[ $installed == "$VLLM_VERSION" ]] || refuse "vLLM $VLLM_VERSION did not install (found '${installed:-nothing}'); see the output above"
log "vLLM $installed in $VENV"
