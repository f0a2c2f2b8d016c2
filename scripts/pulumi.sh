#!/usr/bin/env bash
# Runs the Pulumi CLI for one stack: `npm run preview -- singapore`, `npm run up`, `npm run pulumi -- stack output`.
# The stack defaults to home. State goes to a local folder (.pulumi-state/) unless PULUMI_BACKEND_URL
# names another backend or `pulumi login` chose one. Uses the CLI from the npm `pulumi` package when
# none is installed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

action=${1:?usage: scripts/pulumi.sh <preview|up|destroy|...> [stack] [pulumi flags]}
shift
stack=home
if [[ $# -gt 0 && $1 != -* ]]; then
  stack=$1
  shift
fi
if [[ ! -f Pulumi.$stack.yaml ]]; then
  stacks=(Pulumi.*.yaml)
  stacks=("${stacks[@]#Pulumi.}")
  echo "infernus: there is no Pulumi.$stack.yaml; the stacks here are: ${stacks[*]%.yaml}" >&2
  exit 1
fi

if [[ -z ${PULUMI_BACKEND_URL:-} ]] && ! pulumi whoami >/dev/null 2>&1; then
  mkdir -p .pulumi-state
  export PULUMI_BACKEND_URL="file://$PWD/.pulumi-state"
fi
pulumi stack select --create "$stack" >/dev/null
case $action in
  preview | up | destroy | refresh) exec pulumi "$action" --stack "$stack" "$@" ;;
  *) exec pulumi "$action" "$@" ;;
esac
