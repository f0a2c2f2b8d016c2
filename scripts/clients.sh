#!/usr/bin/env bash
# The deployed stack's files for the user's devices and tools: each device's wg-quick file and QR
# code, and per API user the settings of the tools, with the CA the clients trust. Written to a
# folder only the user can read, outside this checkout (never into out/, which holds the render's
# stand-ins, nor anywhere git could commit a key). Changes nothing on the hosts.
#   scripts/clients.sh [STACK] [DIR] [--qr]   (STACK defaults to home; DIR to ~/.infernus/STACK/clients;
#                                             --qr: also print each device's QR code in the terminal)
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# npm runs scripts from the package's folder: a relative DIR is where the user typed it.
cd "${INIT_CWD:-$PWD}"

usage() {
  echo "usage: npm run clients -- [stack] [dir] [--qr]" >&2
  exit 64
}
qr=() args=()
for arg in "$@"; do
  case $arg in
    --qr) qr=(--qr) ;;
    -*) usage ;;
    *) args+=("$arg") ;;
  esac
done
((${#args[@]} <= 2)) || usage
stack=${args[0]:-home}
# A stack name, or Pulumi Cloud's org/project/stack.
[[ $stack =~ ^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+){0,2}$ && $stack != *..* ]] || {
  echo "infernus: '$stack' is not a stack name (pulumi stack ls lists them)" >&2
  exit 64
}
dir=$(realpath -m -- "${args[1]:-$HOME/.infernus/${stack//\//-}/clients}")
case $dir/ in
  "$repo"/*)
    echo "infernus: $dir is inside this checkout, where git could commit the keys (out/ holds the render's stand-ins); choose a folder outside it (the default is ~/.infernus/$stack/clients)" >&2
    exit 64
    ;;
esac

umask 077
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
if ! bash "$repo/scripts/pulumi.sh" run stack output --stack "$stack" --json --show-secrets >"$scratch/outputs.json" 2>"$scratch/error"; then
  echo "infernus: pulumi could not read stack $stack's outputs: $(head -c 300 "$scratch/error"); is it deployed (npm run up -- $stack) and its passphrase set (PULUMI_CONFIG_PASSPHRASE)?" >&2
  exit 1
fi
# Not exec: the trap removes the outputs file, which holds every secret.
"$repo/node_modules/.bin/ts-node" --transpile-only "$repo/clients/main.ts" "$stack" "$scratch/outputs.json" "$dir" "${qr[@]}"
