#!/usr/bin/env bash
# The lab's vLLM (its wheels cannot be downloaded inside the lab, and there is no card): `vllm
# --version` answers the pinned version the vllm-runtime step checks (written beside this file by
# the lab), and `vllm serve …` runs test/serving/standInVllm.ts with vLLM's own command line, from
# the node and sources the lab binds into the machine read-only.
#   usage: vllm --version | vllm serve DIR --served-model-name NAME …
set -euo pipefail
if [[ ${1:-} == --version ]]; then
  cat "$(dirname "${BASH_SOURCE[0]}")/.lab-version"
  exit 0
fi
lab=/opt/infernus-lab
export TS_NODE_PROJECT=$lab/src/tsconfig.json
exec "$lab/node" -r "$lab/src/node_modules/ts-node/register/transpile-only" "$lab/src/test/serving/standInVllm.ts" "$@"
