#!/usr/bin/env bash
# The lab's llama-swap (its release cannot be downloaded inside the lab): started by the rendered
# unit with llama-swap's own command line, it runs llama-swap's front door on --listen and its
# process side, each model's rendered cmd (infernus-vllm) swapped as llama-swap v250 does
# (test/lab/estate/serving.ts, test/serving/standInProcesses.ts), with the node and sources the
# lab binds into the machine read-only.
# The command line is llama-swap's own: its main (cmd/legacy/llama-swap.go in mostlygeek/llama-swap)
# takes -config and -listen through Go's flag package, which accepts --config and --listen too.
#   usage: llama-swap --config CONFIG --listen ADDRESS:PORT
set -euo pipefail
[[ ${1:-} == --config && -n ${2:-} && ${3:-} == --listen && -n ${4:-} ]] || {
  echo "llama-swap (lab stand-in): usage: llama-swap --config CONFIG --listen ADDRESS:PORT" >&2
  exit 2
}
lab=/opt/infernus-lab
# The unit runs it from /, where ts-node would find no tsconfig.json of ours.
export TS_NODE_PROJECT=$lab/src/tsconfig.json
exec "$lab/node" -r "$lab/src/node_modules/ts-node/register/transpile-only" "$lab/src/test/lab/estate/serving.ts" processes "$2" /etc/systemd/system/infernus-llama-swap.service
