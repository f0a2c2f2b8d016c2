#!/usr/bin/env bash
# Whether the estate works, from the operator's machine: runs infernus-check on the edge over SSH
# with the stack's outputs (the edge's address, user and pinned host key). Changes nothing.
#   scripts/status.sh [STACK] [--load | --usage]   (STACK defaults to home; exit 0 only when all is ok,
#                                          1 when something failed, 2 when something is pending)
# The SSH key is the agent's, or the stack's infernus:sshPrivateKey secret when no agent runs.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

stack=home
if [[ $# -gt 0 && $1 != -* ]]; then
  stack=$1
  shift
fi
for arg in "$@"; do
  [[ $arg == --load || $arg == --usage ]] || {
    echo "usage: npm run status -- [stack] [--load | --usage]" >&2
    exit 64
  }
done
# Loading every model may take a while; a plain check answers within minutes even when hosts are down.
limit=${INFERNUS_STATUS_SECONDS:-$([[ $* == *--load* ]] && echo 3600 || echo 300)}

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
if ! bash scripts/pulumi.sh run stack output --stack "$stack" --json edgeSsh >"$scratch/edge.json" 2>"$scratch/error"; then
  echo "infernus: no outputs for stack $stack ($(head -c 300 "$scratch/error")); run npm run up -- $stack first" >&2
  exit 1
fi
read -r host port user hostKey < <(node -e '
  const e = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  console.log(e.host, e.port, e.user, e.hostKey ?? "");
' "$scratch/edge.json")

options=(-o BatchMode=yes -o ConnectTimeout=10 -o ServerAliveInterval=15 -o ServerAliveCountMax=2 -p "$port")
if [[ -n $hostKey ]]; then
  target=$host
  [[ $port == 22 ]] || target="[$host]:$port"
  printf '%s %s\n' "$target" "$hostKey" >"$scratch/known_hosts"
  options+=(-o StrictHostKeyChecking=yes -o "UserKnownHostsFile=$scratch/known_hosts")
fi
if [[ -z ${SSH_AUTH_SOCK:-} ]] && bash scripts/pulumi.sh run config get --stack "$stack" infernus:sshPrivateKey >"$scratch/key" 2>/dev/null; then
  chmod 600 "$scratch/key"
  options+=(-i "$scratch/key" -o IdentitiesOnly=yes)
fi

rc=0
timeout "$limit" ssh "${options[@]}" "$user@$host" sudo -n /usr/local/sbin/infernus-check "$@" || rc=$?
case $rc in
0 | 1 | 2) exit "$rc" ;;
124) echo "infernus: the check on the edge did not finish within $limit s (INFERNUS_STATUS_SECONDS raises it)" >&2 ;;
255) echo "infernus: the edge does not answer over SSH at $user@$host:$port; is this machine allowed by edge.adminCidrs, and is the edge up?" >&2 ;;
*) echo "infernus: infernus-check on the edge exited $rc; npm run up -- $stack installs it" >&2 ;;
esac
exit 1
