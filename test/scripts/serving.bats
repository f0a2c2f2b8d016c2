#!/usr/bin/env bats
# assets/serving/*.sh against stubbed apt, systemd, curl, uv and vllm.
# shellcheck disable=SC2016 # stub bodies are single-quoted: they expand when the stub runs

setup() {
  load stubs
  setup_stubs
  assets=$BATS_TEST_DIRNAME/../../assets/serving
  stub dpkg-query 'echo "install ok installed"'
  stub apt-get
  stub systemctl 'if [[ $1 == is-active ]]; then [[ ${ACTIVE:-0} == 1 ]] && { [[ $2 == --quiet ]] || echo active; }; fi'
  # A release archive shaped like llama-swap's, with its sha256 and a goreleaser checksums file.
  release=$BATS_TEST_TMPDIR/release
  mkdir -p "$release/llama-swap_250_linux_amd64"
  printf '#!/bin/sh\necho llama-swap\n' >"$release/llama-swap_250_linux_amd64/llama-swap"
  tar -czf "$release/llama-swap_250_linux_amd64.tar.gz" -C "$release" llama-swap_250_linux_amd64
  export RELEASE_SHA256
  RELEASE_SHA256=$(sha256sum "$release/llama-swap_250_linux_amd64.tar.gz" | cut -d' ' -f1)
  echo "$RELEASE_SHA256  llama-swap_250_linux_amd64.tar.gz" >"$release/llama-swap_250_checksums.txt"
  export RELEASE=$release
  stub curl 'while [[ $# -gt 1 ]]; do [[ $1 == -o ]] && out=$2; shift; done; cp "$RELEASE/${1##*/}" "$out"'
  put /etc/infernus/llama-swap/config.yaml "models: {}"
  # root stands in for the service user, which this machine does not have.
  export LLAMA_SWAP_VERSION=250 INSTALL_DIR=/opt/infernus/llama-swap UNIT=infernus-llama-swap.service SERVICE_USER=root CONFIG=/etc/infernus/llama-swap/config.yaml
  export VLLM_DIR=/etc/infernus/vllm MODELS="a b" DRAIN_SECONDS=120
  # Its own tests are in vllm.bats; here, what the step asks of it.
  stub infernus-vllm
}

@test "llama-swap is installed when its archive matches the pinned sha256, then restarted" {
  LLAMA_SWAP_SHA256=$RELEASE_SHA256 run bash "$assets/llama-swap.sh"
  [ "$status" -eq 0 ]
  [ "$("$INFERNUS_ROOT/opt/infernus/llama-swap/llama-swap")" = llama-swap ]
  [ "$(cat "$INFERNUS_ROOT/opt/infernus/llama-swap/.release")" = 250 ]
  called "systemctl restart infernus-llama-swap.service"
  not_called "checksums.txt"
}

@test "llama-swap is refused when its archive does not match the pin" {
  LLAMA_SWAP_SHA256=$(printf '0%.0s' {1..64}) run bash "$assets/llama-swap.sh"
  [ "$status" -eq 1 ]
  [[ $output == *"has sha256 $RELEASE_SHA256, the stack file pins 0000"*"not installed"* ]]
  [ ! -e "$INFERNUS_ROOT/opt/infernus/llama-swap/.release" ]
  not_called "systemctl restart"
}

@test "an unpinned llama-swap is checked against the release's checksums and says what to pin" {
  run bash "$assets/llama-swap.sh"
  [ "$status" -eq 0 ]
  [[ $output == *"pin it: serving.llamaSwap.sha256: $RELEASE_SHA256"* ]]
}

@test "the same release is not downloaded again" {
  LLAMA_SWAP_SHA256=$RELEASE_SHA256 bash "$assets/llama-swap.sh"
  : >"$CALLS"
  LLAMA_SWAP_SHA256=$RELEASE_SHA256 run bash "$assets/llama-swap.sh"
  [ "$status" -eq 0 ]
  not_called "curl --fail"
  called "systemctl restart infernus-llama-swap.service"
}

@test "run again with nothing new while llama-swap runs, it is not restarted: the models it runs stay loaded" {
  LLAMA_SWAP_SHA256=$RELEASE_SHA256 bash "$assets/llama-swap.sh"
  : >"$CALLS"
  ACTIVE=1 LLAMA_SWAP_SHA256=$RELEASE_SHA256 run bash "$assets/llama-swap.sh"
  [ "$status" -eq 0 ]
  not_called "systemctl restart infernus-llama-swap.service"
}

@test "a step that writes a new config restarts llama-swap, running or not, once every model has drained and parked" {
  LLAMA_SWAP_SHA256=$RELEASE_SHA256 bash "$assets/llama-swap.sh"
  : >"$CALLS"
  ACTIVE=1 LLAMA_SWAP_SHA256=$RELEASE_SHA256 run_step "$assets/llama-swap.sh" "$CONFIG=models: { a: {} }"
  [ "$status" -eq 0 ]
  # No stream is cut: every model's requests finish first, then each sleeps, then the restart.
  [ "$(grep -E '^(infernus-vllm|systemctl restart)' "$CALLS")" = "$(printf '%s\n' 'infernus-vllm drain a' 'infernus-vllm drain b' 'infernus-vllm park a' 'infernus-vllm park b' 'systemctl restart infernus-llama-swap.service')" ]
}

@test "a model whose vLLM settings changed is stopped after its requests, and llama-swap is left running" {
  LLAMA_SWAP_SHA256=$RELEASE_SHA256 bash "$assets/llama-swap.sh"
  : >"$CALLS"
  ACTIVE=1 LLAMA_SWAP_SHA256=$RELEASE_SHA256 run_step "$assets/llama-swap.sh" "$VLLM_DIR/b.args=--max-model-len"
  [ "$status" -eq 0 ]
  called "infernus-vllm stop b"
  not_called "infernus-vllm stop a"
  not_called "systemctl restart infernus-llama-swap.service"
  [[ $output == *"b: stopped after its requests, to start with its new settings"* ]]
}

@test "downloads start only for models that are not complete, in the background" {
  put /etc/infernus/models.list $'gpt-oss-120b openai/gpt-oss-120b 65300000000 /srv/models/gpt-oss-120b\nqwen3-embedding-8b Qwen/Qwen3-Embedding-8B 15100000000 /srv/models/qwen3-embedding-8b\n'
  put /srv/models/qwen3-embedding-8b/.infernus-complete ""
  MODELS_LIST=/etc/infernus/models.list TIKTOKEN=1 run bash "$assets/models.sh"
  [ "$status" -eq 0 ]
  called "systemctl start --no-block infernus-fetch-gpt-oss-120b.service"
  not_called "start --no-block infernus-fetch-qwen3-embedding-8b.service"
  called "systemctl start --no-block infernus-fetch-tiktoken.service"
  [[ $output == *"qwen3-embedding-8b: weights complete"* ]]
  [[ $output == *"1 download(s) started"* ]]
}

@test "a download already running is left alone" {
  put /etc/infernus/models.list $'gpt-oss-120b openai/gpt-oss-120b 65300000000 /srv/models/gpt-oss-120b\n'
  ACTIVE=1 MODELS_LIST=/etc/infernus/models.list run bash "$assets/models.sh"
  [ "$status" -eq 0 ]
  not_called "start --no-block"
  [[ $output == *"gpt-oss-120b: downloading"* ]]
}

@test "infernus-models shows each download's progress and fails until all are complete" {
  mkdir -p "$BATS_TEST_TMPDIR/models/a" "$BATS_TEST_TMPDIR/models/b"
  head -c 50000 /dev/zero >"$BATS_TEST_TMPDIR/models/a/part"
  touch "$BATS_TEST_TMPDIR/models/b/.infernus-complete"
  printf 'a org/a 100000 %s\nb org/b 10 %s\n' "$BATS_TEST_TMPDIR/models/a" "$BATS_TEST_TMPDIR/models/b" >"$BATS_TEST_TMPDIR/list"
  ACTIVE=1 run bash "$assets/models-status.sh" "$BATS_TEST_TMPDIR/list"
  [ "$status" -eq 1 ]
  [[ $output == *"MODEL"*"STATE"*"DONE"* ]]
  grep -Eq '^a +active +5[0-9]% journalctl -u infernus-fetch-a.service$' <<<"$output"
  grep -Eq '^b +complete +100% ' <<<"$output"
}

@test "infernus-models never says 100 % before the download is complete, even past the listed size" {
  mkdir -p "$BATS_TEST_TMPDIR/models/a"
  head -c 120000 /dev/zero >"$BATS_TEST_TMPDIR/models/a/part"
  printf 'a org/a 100000 %s\n' "$BATS_TEST_TMPDIR/models/a" >"$BATS_TEST_TMPDIR/list"
  ACTIVE=1 run bash "$assets/models-status.sh" "$BATS_TEST_TMPDIR/list"
  grep -Eq '^a +active +99% ' <<<"$output"
}

@test "vLLM is installed with uv once, and not again at the same version" {
  stub python3
  export VLLM_VERSION=0.21.0 UV_VERSION=0.9.5 VENV=$BATS_TEST_TMPDIR/opt/vllm MODELS_DIR=/srv/models SERVICE_USER=root
  mkdir -p "$BATS_TEST_TMPDIR/opt/uv/bin" "$VENV/bin"
  printf '#!/bin/sh\necho 0.21.0\n' >"$VENV/bin/vllm.next"
  # vllm appears only once uv has installed it.
  printf '#!/bin/sh\necho "uv $*" >>"$CALLS"\n[ "$1" = --version ] && echo "uv 0.9.5"\n[ "$1" = pip ] && mv "%s/bin/vllm.next" "%s/bin/vllm" && chmod +x "%s/bin/vllm"\nexit 0\n' "$VENV" "$VENV" "$VENV" >"$BATS_TEST_TMPDIR/opt/uv/bin/uv"
  chmod +x "$BATS_TEST_TMPDIR/opt/uv/bin/uv"
  run bash "$assets/vllm-runtime.sh"
  [ "$status" -eq 0 ]
  grep -q "uv pip install --quiet --python $VENV/bin/python vllm==0.21.0 --torch-backend=auto" "$CALLS"
  [[ $output == *"vLLM 0.21.0 in $VENV"* ]]
  : >"$CALLS"
  run bash "$assets/vllm-runtime.sh"
  [ "$status" -eq 0 ]
  not_called "pip install"
}
