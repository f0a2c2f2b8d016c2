#!/usr/bin/env bash
# The deployed stack's files for the user's devices and tools: each device's wg-quick file and QR
# code (printed in the terminal too), and per API user the settings of his tools, with the CA the
# clients trust. Written to a folder only the user can read, never into out/ (which holds the
# render's stand-ins). Changes nothing on the hosts.
#   scripts/clients.sh [STACK] [DIR]   (STACK defaults to home; DIR to ~/.infernus/STACK/clients)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

stack=${1:-home}
dir=${2:-$HOME/.infernus/$stack/clients}
[[ $stack =~ ^[A-Za-z0-9_.-]+$ ]] || {
  echo "usage: npm run clients -- [stack] [dir]" >&2
  exit 64
}
case $(realpath -m "$dir")/ in
  "$(realpath -m out)"/*)
    echo "infernus: $dir is inside out/, where the render writes its stand-ins; choose another folder (the default is ~/.infernus/$stack/clients)" >&2
    exit 64
    ;;
esac

umask 077
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
if ! bash scripts/pulumi.sh run stack output --stack "$stack" --json --show-secrets >"$scratch/outputs.json" 2>"$scratch/error"; then
  echo "infernus: no outputs for stack $stack ($(head -c 300 "$scratch/error")); run npm run up -- $stack first" >&2
  exit 1
fi
qr=()
[[ ! -t 1 ]] || qr=(--qr)
# Not exec: the trap removes the outputs file, which holds every secret.
node_modules/.bin/ts-node --transpile-only clients/main.ts "$scratch/outputs.json" "$dir" "${qr[@]}"
